#include "core/onnx_model.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "core/bert_weights_assembler.h"
#include "core/float16.h"
#include "onnx/onnx_pb.h"

namespace qkv {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ONNX raw_data is little-endian");

constexpr absl::string_view kWeightSuffix = ".weight";
constexpr absl::string_view kBiasSuffix = ".bias";

// An initializer picked as a tensor of the model, under its canonical HF name.
struct Binding {
  const onnx::TensorProto* initializer = nullptr;
  bool in_out_layout = false;
};

absl::StatusOr<onnx::ModelProto> ParseModel(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  char head[64];
  const ssize_t head_size = ::pread(fd, head, sizeof(head), 0);
  if (head_size > 0 && IsGitLfsPointer(absl::string_view(head, static_cast<size_t>(head_size)))) {
    ::close(fd);
    return GitLfsPointerError(path);
  }
  onnx::ModelProto model;
  const bool parsed = model.ParseFromFileDescriptor(fd);
  ::close(fd);
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": not a valid ONNX model (the protobuf does not parse: truncated or corrupt file, or "
                     "over 2 GiB)"));
  }
  if (!model.has_graph() || model.graph().initializer_size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not an ONNX model with weights (no initializers)"));
  }
  return model;
}

// Copies `t` into a float32 Tensor. `name` labels errors.
absl::StatusOr<Tensor> ConvertInitializer(const onnx::TensorProto& t, const std::string& name,
                                          const std::string& path) {
  auto invalid = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": initializer ", name, " (\"", t.name(), "\"): ", what));
  };
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    return absl::UnimplementedError(absl::StrCat(path, ": initializer ", name, " (\"", t.name(),
                                                 "\") is stored in external data, which is not supported"));
  }
  Tensor out;
  uint64_t count = 1;
  for (int64_t dim : t.dims()) {
    if (dim < 0) return invalid(absl::StrCat("negative dimension ", dim));
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(dim), &count) || count > (uint64_t{1} << 40)) {
      return invalid("too many elements");
    }
    out.shape.push_back(dim);
  }
  const bool raw = t.has_raw_data();
  const std::string& bytes = t.raw_data();
  // The data the file holds must match the shape before anything is allocated for it: `count` comes from
  // the file's dims and may be absurd (a 100-byte file can ask for [2^20, 2^20]).
  uint64_t item_size = 0;
  int stored = 0;  // values in the typed field
  const char* field = "";
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      item_size = 4;
      stored = t.float_data_size();
      field = "float_data";
      break;
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
      item_size = 2;
      stored = t.int32_data_size();  // ONNX stores 16-bit floats one per int32_data entry
      field = "int32_data";
      break;
    case onnx::TensorProto::DOUBLE:
      item_size = 8;
      stored = t.double_data_size();
      field = "double_data";
      break;
    default:
      break;  // unsupported: reported below
  }
  if (item_size != 0) {
    if (raw && bytes.size() != count * item_size) {  // count <= 2^40, so no overflow
      return invalid(absl::StrCat("raw_data has ", bytes.size(), " bytes, shape needs ", count * item_size));
    }
    if (!raw && static_cast<uint64_t>(stored) != count) {
      return invalid(absl::StrCat(field, " has ", stored, " values, shape needs ", count));
    }
    out.data.resize(count);
  }
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (raw) {
        if (count > 0) std::memcpy(out.data.data(), bytes.data(), bytes.size());
      } else {
        std::copy(t.float_data().begin(), t.float_data().end(), out.data.begin());
      }
      break;
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16: {
      const bool half = t.data_type() == onnx::TensorProto::FLOAT16;
      auto convert = [half](uint16_t bits) { return half ? HalfToFloat(bits) : BFloat16ToFloat(bits); };
      if (raw) {
        const auto* src = reinterpret_cast<const unsigned char*>(bytes.data());
        for (uint64_t i = 0; i < count; ++i) {
          out.data[i] = convert(static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8)));
        }
      } else {
        for (uint64_t i = 0; i < count; ++i) out.data[i] = convert(static_cast<uint16_t>(t.int32_data(i)));
      }
      break;
    }
    case onnx::TensorProto::DOUBLE:
      if (raw) {
        for (uint64_t i = 0; i < count; ++i) {
          double value;
          std::memcpy(&value, bytes.data() + 8 * i, sizeof(value));
          out.data[i] = static_cast<float>(value);
        }
      } else {
        for (uint64_t i = 0; i < count; ++i) out.data[i] = static_cast<float>(t.double_data(i));
      }
      break;
    default:
      return absl::UnimplementedError(absl::StrCat(
          path, ": initializer ", name, " (\"", t.name(), "\") has data type ",
          onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(t.data_type())),
          "; only FLOAT, FLOAT16, BFLOAT16 and DOUBLE weights are supported"));
  }
  return out;
}

// Reads the graph: which initializer is which HF tensor, and in what layout.
class GraphIndex {
 public:
  GraphIndex(const onnx::GraphProto& graph, const ModelConfig& config, const std::string& path)
      : graph_(graph), config_(config), path_(path) {}

  absl::Status Build() {
    for (const onnx::TensorProto& t : graph_.initializer()) initializers_[t.name()] = &t;
    for (const onnx::NodeProto& node : graph_.node()) {
      for (int i = 0; i < node.input_size(); ++i) consumers_[node.input(i)].push_back(&node);
    }
    // Named initializers first; MatMul / Gemm operands then override their layout.
    for (const onnx::TensorProto& t : graph_.initializer()) {
      std::string name = Canonical(t.name());
      if (bindings_.count(name) != 0) {
        return absl::InvalidArgumentError(absl::StrCat(path_, ": two initializers are both named ", name,
                                                       " (after dropping \"",
                                                       config_.traits().weights.task_prefix, "\")"));
      }
      bindings_[name] = Binding{&t, /*in_out_layout=*/false};
    }
    for (const onnx::NodeProto& node : graph_.node()) {
      if (node.op_type() == "MatMul") {
        QKV_RETURN_IF_ERROR(BindMatMul(node));
      } else if (node.op_type() == "Gemm") {
        QKV_RETURN_IF_ERROR(BindGemm(node));
      }
    }
    return absl::OkStatus();
  }

  const std::map<std::string, Binding>& bindings() const { return bindings_; }
  // Weight initializers of MatMul / Gemm nodes that no bias named.
  const std::vector<std::string>& unidentified() const { return unidentified_; }

 private:
  const onnx::TensorProto* Initializer(const std::string& name) const {
    auto it = initializers_.find(name);
    return it == initializers_.end() ? nullptr : it->second;
  }

  std::string Canonical(const std::string& name) const { return CanonicalWeightName(config_, name); }

  static bool IsWeightName(const std::string& canonical) { return absl::EndsWith(canonical, kWeightSuffix); }

  static std::string WeightNameForBias(const std::string& canonical_bias) {
    return absl::StrCat(canonical_bias.substr(0, canonical_bias.size() - kBiasSuffix.size()), kWeightSuffix);
  }

  // Binds `weight`, used as a Linear weight in `in_out_layout`, under its own name or the one `bias_name`
  // (a canonical bias name, or empty) implies.
  absl::Status Bind(const onnx::TensorProto& weight, bool in_out_layout, const std::string& bias_name) {
    std::string own = Canonical(weight.name());
    std::string name;
    if (IsWeightName(own)) {
      name = own;
    } else if (!bias_name.empty()) {
      name = WeightNameForBias(bias_name);
    } else {
      unidentified_.push_back(weight.name());
      return absl::OkStatus();
    }
    auto it = bindings_.find(name);
    if (it != bindings_.end() && it->second.initializer != &weight) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ": both initializer \"",
                                                     it->second.initializer->name(), "\" and \"",
                                                     weight.name(), "\" resolve to tensor ", name));
    }
    bindings_[name] = Binding{&weight, in_out_layout};
    return absl::OkStatus();
  }

  // y = x · W, then y + b in an Add (either operand order).
  absl::Status BindMatMul(const onnx::NodeProto& node) {
    if (node.input_size() != 2 || node.output_size() < 1) return absl::OkStatus();
    const onnx::TensorProto* weight = Initializer(node.input(1));
    if (weight == nullptr || Initializer(node.input(0)) != nullptr) return absl::OkStatus();
    std::string bias_name;
    auto it = consumers_.find(node.output(0));
    if (it != consumers_.end()) {
      for (const onnx::NodeProto* add : it->second) {
        if (add->op_type() != "Add" || add->input_size() != 2) continue;
        const std::string& other = add->input(0) == node.output(0) ? add->input(1) : add->input(0);
        std::string canonical = Canonical(other);
        if (Initializer(other) != nullptr && absl::EndsWith(canonical, kBiasSuffix)) bias_name = canonical;
      }
    }
    return Bind(*weight, /*in_out_layout=*/true, bias_name);
  }

  // y = alpha · op(A) · op(B) + beta · C.
  absl::Status BindGemm(const onnx::NodeProto& node) {
    if (node.input_size() < 2) return absl::OkStatus();
    const onnx::TensorProto* weight = Initializer(node.input(1));
    if (weight == nullptr) return absl::OkStatus();
    bool trans_b = false;
    for (const onnx::AttributeProto& attr : node.attribute()) {
      const bool unsupported = (attr.name() == "transA" && attr.i() != 0) ||
                               ((attr.name() == "alpha" || attr.name() == "beta") && attr.f() != 1.0f);
      if (unsupported) {
        return absl::UnimplementedError(absl::StrCat(path_, ": Gemm over initializer \"", weight->name(),
                                                     "\" has unsupported attribute ", attr.name()));
      }
      if (attr.name() == "transB") trans_b = attr.i() != 0;
    }
    std::string bias_name;
    if (node.input_size() >= 3 && Initializer(node.input(2)) != nullptr) {
      std::string canonical = Canonical(node.input(2));
      if (absl::EndsWith(canonical, kBiasSuffix)) bias_name = canonical;
    }
    return Bind(*weight, /*in_out_layout=*/!trans_b, bias_name);
  }

  const onnx::GraphProto& graph_;
  const ModelConfig& config_;
  const std::string& path_;
  std::map<std::string, const onnx::TensorProto*> initializers_;
  std::map<std::string, std::vector<const onnx::NodeProto*>> consumers_;
  std::map<std::string, Binding> bindings_;  // canonical HF name -> initializer
  std::vector<std::string> unidentified_;
};

}  // namespace

absl::StatusOr<BertWeights> ReadOnnxBertWeights(const std::string& path, const ModelConfig& config) {
  QKV_ASSIGN_OR_RETURN(onnx::ModelProto model, ParseModel(path));
  GraphIndex index(model.graph(), config, path);
  QKV_RETURN_IF_ERROR(index.Build());

  std::vector<std::string> names;
  for (const auto& [name, binding] : index.bindings()) names.push_back(name);
  const TensorLookup lookup = [&](const std::string& name) -> absl::StatusOr<std::optional<SourceTensor>> {
    auto it = index.bindings().find(name);
    if (it == index.bindings().end()) return std::optional<SourceTensor>();
    QKV_ASSIGN_OR_RETURN(Tensor tensor, ConvertInitializer(*it->second.initializer, name, path));
    return std::optional<SourceTensor>(SourceTensor{std::move(tensor), it->second.in_out_layout});
  };
  absl::StatusOr<BertWeights> weights = AssembleBertWeights(config, names, lookup, path);
  if (absl::IsNotFound(weights.status()) && !index.unidentified().empty()) {
    return absl::NotFoundError(
        absl::StrCat(weights.status().message(), " (", index.unidentified().size(),
                     " MatMul/Gemm weight initializers could not be named because no bias Add follows them: ",
                     absl::StrJoin(index.unidentified(), ", "), ")"));
  }
  return weights;
}

}  // namespace qkv
