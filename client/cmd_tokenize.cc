// qkv tokenize TEXT: the model's word pieces, ids and byte offsets for TEXT (Tokenize RPC).
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/cli.h"
#include "client/json_dump.h"
#include "client/text_util.h"
#include "common/status_macros.h"

namespace qkv {
namespace {

constexpr char kCommand[] = "tokenize";

std::string TokenizeTable(const v1::TokenizeResponse& r) {
  int token_w = 5;
  for (const std::string& t : r.tokens()) token_w = std::max(token_w, DisplayWidth(SanitizeForDisplay(t)));
  token_w = std::min(token_w, 24);
  std::string out =
      absl::StrFormat("%5s  %8s  %s  %4s  %s\n", "#", "id", PadToWidth("token", token_w), "type", "bytes");
  for (int i = 0; i < r.ids_size(); ++i) {
    const std::string token = i < r.tokens_size() ? TruncateToWidth(SanitizeForDisplay(r.tokens(i)), 24) : "";
    std::string bytes;
    if (i < r.special_size() && r.special(i)) {
      bytes = "special";
    } else if (i < r.byte_begin_size() && i < r.byte_end_size()) {
      bytes = absl::StrCat(r.byte_begin(i), "-", r.byte_end(i));
    }
    absl::StrAppendFormat(&out, "%5d  %8d  %s  %4d  %s\n", i, r.ids(i), PadToWidth(token, token_w),
                          i < r.token_type_ids_size() ? r.token_type_ids(i) : 0, bytes);
  }
  absl::StrAppend(&out, r.ids_size(), " tokens", r.truncated() ? " (truncated)" : "", "\n");
  return out;
}

std::string TokenizeJson(const v1::TokenizeResponse& r) {
  const OrderedJson json = {
      {"ids", r.ids()},
      {"tokens", r.tokens()},
      {"token_type_ids", r.token_type_ids()},
      {"byte_begin", r.byte_begin()},
      {"byte_end", r.byte_end()},
      {"special", r.special()},
      {"truncated", r.truncated()},
  };
  return DumpJsonLine(json);
}

}  // namespace

int RunTokenizeCommand(const std::vector<std::string>& args, CliEnv& env) {
  Subcommand cmd(
      kCommand, "qkv tokenize TEXT [flags]",
      "Tokenizes TEXT with the served model's WordPiece vocabulary ([CLS] TEXT [SEP]), without running\n"
      "the model. --ids prints just the ids, comma-separated (ready for 'qkv encode --ids').",
      env);
  std::string pair;
  std::string format = "table";
  int64_t max_length = 0;
  bool ids_only = false;
  cmd.flags().AddString("pair", &pair, "second segment: [CLS] TEXT [SEP] PAIR [SEP]", "TEXT");
  cmd.flags().AddInt("max-length", &max_length,
                     "truncate to this many tokens (0 = no truncation: text over the model's limit is an error)");
  cmd.flags().AddBool("ids", &ids_only, "print only the ids, comma-separated");
  cmd.flags().AddChoice("format", &format, {"table", "json"}, "output format");
  return cmd.Run(args, [&](const std::vector<std::string>& positional) -> absl::Status {
    if (positional.size() != 1) {
      return UsageError(absl::StrCat("expected one TEXT argument, got ", positional.size()));
    }
    if (max_length < 0) return UsageError("--max-length must be >= 0");
    if (!IsValidUtf8(positional[0]) || !IsValidUtf8(pair)) return LocalError("text is not valid UTF-8");
    QKV_ASSIGN_OR_RETURN(std::unique_ptr<EncoderClient> client, cmd.Connect());
    v1::TokenizeRequest request;
    request.set_text(positional[0]);
    if (cmd.flags().IsSet("pair")) request.set_text_pair(pair);
    if (max_length > 0) {
      request.set_truncation(v1::TRUNCATION_TRUNCATE);
      request.set_max_length(static_cast<int32_t>(max_length));
    }
    v1::TokenizeResponse response;
    QKV_RETURN_IF_ERROR(client->Tokenize(request, &response));
    if (ids_only) {
      *env.out << absl::StrJoin(response.ids(), ",") << "\n";
    } else if (format == "json") {
      *env.out << TokenizeJson(response);
    } else {
      *env.out << TokenizeTable(response);
    }
    return absl::OkStatus();
  });
}

}  // namespace qkv
