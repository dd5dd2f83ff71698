#include "client/json_writer.h"

#include <cassert>
#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/text_util.h"

namespace qkv {

std::string JsonQuote(absl::string_view value) {
  std::string out = "\"";
  for (char32_t cp : Utf8ToCodePoints(value)) {
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (cp < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned>(cp));
        } else {
          AppendUtf8(cp, &out);
        }
    }
  }
  out += '"';
  return out;
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_element_.empty()) {
    if (has_element_.back()) out_->push_back(',');
    has_element_.back() = true;
  }
}

void JsonWriter::Open(char bracket) {
  BeforeValue();
  out_->push_back(bracket);
  has_element_.push_back(false);
}

void JsonWriter::Close(char bracket) {
  assert(!has_element_.empty());
  has_element_.pop_back();
  out_->push_back(bracket);
}

void JsonWriter::BeginObject() { Open('{'); }
void JsonWriter::EndObject() { Close('}'); }
void JsonWriter::BeginArray() { Open('['); }
void JsonWriter::EndArray() { Close(']'); }

void JsonWriter::Key(absl::string_view key) {
  BeforeValue();
  out_->append(JsonQuote(key));
  out_->push_back(':');
  after_key_ = true;
}

void JsonWriter::String(absl::string_view value) {
  BeforeValue();
  out_->append(JsonQuote(value));
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  absl::StrAppend(out_, value);
}

void JsonWriter::Float(float value) {
  BeforeValue();
  AppendShortest(value);
}

void JsonWriter::Double(double value) {
  BeforeValue();
  AppendShortest(value);
}

template <typename T>
void JsonWriter::AppendShortest(T value) {
  if (!std::isfinite(value)) {
    out_->append("null");
    return;
  }
  char buf[32];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), value);
  out_->append(buf, r.ptr);
}

void JsonWriter::Bool(bool value) {
  BeforeValue();
  out_->append(value ? "true" : "false");
}

void JsonWriter::Null() {
  BeforeValue();
  out_->append("null");
}

void JsonWriter::IntArray(absl::Span<const int32_t> values) {
  BeginArray();
  for (int32_t v : values) Int(v);
  EndArray();
}

void JsonWriter::IntArray(absl::Span<const int64_t> values) {
  BeginArray();
  for (int64_t v : values) Int(v);
  EndArray();
}

void JsonWriter::FloatArray(absl::Span<const float> values) {
  BeginArray();
  for (float v : values) Float(v);
  EndArray();
}

void JsonWriter::StringArray(absl::Span<const std::string> values) {
  BeginArray();
  for (const std::string& v : values) String(v);
  EndArray();
}

}  // namespace qkv
