#include "client/encode_output.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/text_util.h"

namespace qkv {
namespace {

constexpr int kLabelWidth = 60;
constexpr int kPreviewValues = 4;  // leading and trailing pooled values shown in the table

absl::Status ValidateTensor(const v1::Tensor& tensor, const std::string& field) {
  int64_t n = 1;
  for (int64_t d : tensor.shape()) {
    if (d < 0) return absl::InvalidArgumentError(absl::StrCat(field, ": negative dimension"));
    n *= d;
  }
  if (n != tensor.values_size()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": shape [", absl::StrJoin(tensor.shape(), ", "),
                                                   "] needs ", n, " values, got ", tensor.values_size()));
  }
  return absl::OkStatus();
}

void WriteNested(const v1::Tensor& tensor, int axis, int64_t* offset, JsonWriter* w) {
  if (axis == tensor.shape_size()) {
    w->Float(tensor.values(static_cast<int>((*offset)++)));
    return;
  }
  w->BeginArray();
  if (axis == tensor.shape_size() - 1) {
    const int64_t n = tensor.shape(axis);
    for (int64_t i = 0; i < n; ++i) w->Float(tensor.values(static_cast<int>((*offset)++)));
  } else {
    for (int64_t i = 0; i < tensor.shape(axis); ++i) WriteNested(tensor, axis + 1, offset, w);
  }
  w->EndArray();
}

std::string ShapeText(const v1::Tensor& tensor) {
  return absl::StrCat("[", absl::StrJoin(tensor.shape(), ", "), "]");
}

}  // namespace

absl::Status ValidateOutput(const v1::Output& output) {
  if (output.tokens_size() != 0 && output.tokens_size() != output.ids_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("output has ", output.ids_size(), " ids but ", output.tokens_size(), " tokens"));
  }
  if (output.has_token_vectors()) {
    if (absl::Status s = ValidateTensor(output.token_vectors(), "token_vectors"); !s.ok()) return s;
  }
  if (output.has_pooled()) {
    if (absl::Status s = ValidateTensor(output.pooled(), "pooled"); !s.ok()) return s;
  }
  for (const v1::LayerTensor& h : output.hidden_states()) {
    if (absl::Status s = ValidateTensor(h.values(), absl::StrCat("hidden_states[", h.layer(), "]"));
        !s.ok()) {
      return s;
    }
  }
  for (const v1::LayerAttention& a : output.attention()) {
    if (absl::Status s = ValidateTensor(a.probs(), absl::StrCat("attention[", a.layer(), "]")); !s.ok())
      return s;
  }
  return absl::OkStatus();
}

void WriteTensorJson(const v1::Tensor& tensor, JsonWriter* writer) {
  int64_t offset = 0;
  WriteNested(tensor, 0, &offset, writer);
}

void WriteOutputJson(const v1::Output& output, const EncodeOutputOptions& options, JsonWriter* w) {
  w->BeginObject();
  w->Key("id");
  w->String(output.id());
  w->Key("ids");
  w->IntArray(absl::MakeConstSpan(output.ids().data(), output.ids_size()));
  if (options.include_tokens) {
    w->Key("tokens");
    w->BeginArray();
    for (const std::string& t : output.tokens()) w->String(t);
    w->EndArray();
  }
  if (output.truncated()) {
    w->Key("truncated");
    w->Bool(true);
  }
  if (output.has_pooled()) {
    w->Key("pooled");
    WriteTensorJson(output.pooled(), w);
  }
  if (output.has_token_vectors()) {
    w->Key("token_vectors");
    WriteTensorJson(output.token_vectors(), w);
  }
  if (output.hidden_states_size() > 0) {
    w->Key("hidden_states");
    w->BeginObject();
    for (const v1::LayerTensor& h : output.hidden_states()) {
      w->Key(absl::StrCat(h.layer()));
      WriteTensorJson(h.values(), w);
    }
    w->EndObject();
  }
  if (output.attention_size() > 0) {
    w->Key("attention");
    w->BeginObject();
    bool all_heads_in_order = true;
    for (const v1::LayerAttention& a : output.attention()) {
      w->Key(absl::StrCat(a.layer()));
      WriteTensorJson(a.probs(), w);
      for (int i = 0; i < a.heads_size(); ++i) all_heads_in_order &= a.heads(i) == i;
    }
    w->EndObject();
    if (!all_heads_in_order) {
      w->Key("attention_heads");
      w->BeginObject();
      for (const v1::LayerAttention& a : output.attention()) {
        w->Key(absl::StrCat(a.layer()));
        w->IntArray(absl::MakeConstSpan(a.heads().data(), a.heads_size()));
      }
      w->EndObject();
    }
  }
  w->EndObject();
}

void WriteErrorJson(const std::string& id, int code, const std::string& message, JsonWriter* w) {
  w->BeginObject();
  w->Key("id");
  w->String(id);
  w->Key("error");
  w->BeginObject();
  w->Key("code");
  w->String(absl::StatusCodeToString(static_cast<absl::StatusCode>(code)));
  w->Key("message");
  w->String(message);
  w->EndObject();
  w->EndObject();
}

std::string FormatOutputTable(int64_t index, const std::string& label, const v1::Output& output,
                              const EncodeOutputOptions& options) {
  std::string out;
  absl::StrAppendFormat(&out, "[%d] %s  (%d tokens%s)\n", index,
                        TruncateToWidth(SanitizeForDisplay(label), kLabelWidth), output.ids_size(),
                        output.truncated() ? ", truncated" : "");
  if (options.include_tokens && output.tokens_size() > 0) {
    std::string tokens;
    for (const std::string& t : output.tokens()) {
      if (!tokens.empty()) tokens += ' ';
      tokens += SanitizeForDisplay(t);
    }
    absl::StrAppend(&out, "  tokens: ", tokens, "\n");
  }
  absl::StrAppend(&out, "  ids:    ", absl::StrJoin(output.ids(), " "), "\n");
  if (output.has_pooled()) {
    const v1::Tensor& p = output.pooled();
    const int n = p.values_size();
    double norm = 0;
    for (float v : p.values()) norm += static_cast<double>(v) * v;
    std::string values;
    for (int i = 0; i < n; ++i) {
      if (n > 2 * kPreviewValues && i == kPreviewValues) {
        values += " ...";
        i = n - kPreviewValues;
      }
      absl::StrAppendFormat(&values, " %.4f", p.values(i));
    }
    absl::StrAppendFormat(&out, "  pooled %s:%s  (L2 norm %.4f)\n", ShapeText(p), values, std::sqrt(norm));
  }
  if (output.has_token_vectors())
    absl::StrAppend(&out, "  token_vectors ", ShapeText(output.token_vectors()), "\n");
  for (const v1::LayerTensor& h : output.hidden_states()) {
    absl::StrAppend(&out, "  hidden_state ", h.layer(), " ", ShapeText(h.values()), "\n");
  }
  for (const v1::LayerAttention& a : output.attention()) {
    absl::StrAppend(&out, "  attention layer ", a.layer(), " ", ShapeText(a.probs()), " heads ",
                    absl::StrJoin(a.heads(), ","), "\n");
  }
  return out;
}

}  // namespace qkv
