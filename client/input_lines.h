// ReadInputLines: the bulk input of `qkv encode --file FILE` (or stdin): one text per line.
//
// Thread safety: a pure function of its arguments.
#ifndef QKV_CLIENT_INPUT_LINES_H_
#define QKV_CLIENT_INPUT_LINES_H_

#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qkv {

// Reads every line of `in` (a trailing "\r" is dropped, so CRLF files work; a final line without "\n"
// counts). `source` names the input in errors ("stdin", or the file name). DataLoss on a read error;
// InvalidArgument "<source> has no lines" for empty input and "<source>: line N is not valid UTF-8"
// (1-based) for the first line that is not.
absl::StatusOr<std::vector<std::string>> ReadInputLines(std::istream& in, absl::string_view source);

}  // namespace qkv

#endif  // QKV_CLIENT_INPUT_LINES_H_
