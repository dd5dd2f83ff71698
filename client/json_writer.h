// JsonWriter: a small streaming JSON writer for the CLI's machine-readable output. Floats are written in
// their shortest round-trip form (std::to_chars), so `qkv encode --format json` is exact and compact;
// non-finite numbers become null; strings are emitted as valid UTF-8 (invalid bytes become U+FFFD).
//
//   std::string out;
//   JsonWriter w(&out);
//   w.BeginObject(); w.Key("ids"); w.IntArray(ids); w.EndObject();
//
// The caller keeps the calls well nested (checked only in debug builds). Not thread-safe.
#ifndef QKV_CLIENT_JSON_WRITER_H_
#define QKV_CLIENT_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace qkv {

class JsonWriter {
 public:
  // Appends to `*out`, which must outlive the writer.
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  // Inside an object, before each value.
  void Key(absl::string_view key);

  void String(absl::string_view value);
  void Int(int64_t value);
  void Float(float value);
  void Double(double value);
  void Bool(bool value);
  void Null();

  void IntArray(absl::Span<const int32_t> values);
  void IntArray(absl::Span<const int64_t> values);
  void FloatArray(absl::Span<const float> values);
  void StringArray(absl::Span<const std::string> values);

 private:
  void BeforeValue();
  // Starts / ends an object or array.
  void Open(char bracket);
  void Close(char bracket);
  // The shortest text that reads back as `value` (std::to_chars); null for NaN and infinities.
  template <typename T>
  void AppendShortest(T value);

  std::string* out_;
  // One entry per open container: true once it holds an element (a comma goes before the next).
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

// `value` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view value);

}  // namespace qkv

#endif  // QKV_CLIENT_JSON_WRITER_H_
