#include "core/model_loader.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "core/onnx_model.h"
#include "core/safetensors_model.h"

namespace qkv {
namespace {

constexpr char kSafetensorsExtension[] = ".safetensors";
constexpr char kOnnxExtension[] = ".onnx";
constexpr char kShardIndex[] = "model.safetensors.index.json";

enum class PathKind { kMissing, kFile, kDirectory, kOther };

PathKind Kind(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return PathKind::kMissing;
  if (S_ISREG(st.st_mode)) return PathKind::kFile;
  if (S_ISDIR(st.st_mode)) return PathKind::kDirectory;
  return PathKind::kOther;
}

std::string Join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string Parent(const std::string& file) {
  const size_t slash = file.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return file.substr(0, slash);
}

// Regular files in `dir` whose name ends with `extension`, sorted.
std::vector<std::string> FilesWithExtension(const std::string& dir, const char* extension) {
  std::vector<std::string> files;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return files;
  while (const struct dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (absl::EndsWith(name, extension) && Kind(Join(dir, name)) == PathKind::kFile) files.push_back(name);
  }
  ::closedir(d);
  std::sort(files.begin(), files.end());
  return files;
}

// Picks the weights file of a model directory: model.safetensors, else model.onnx, else a sharded
// checkpoint's model.safetensors.index.json, else the only *.onnx, else onnx/model.onnx (where the Hub keeps
// an Optimum export). The errors say what a directory without usable
// weights holds instead and how to convert it.
absl::StatusOr<std::string> FindWeightsFile(const std::string& dir) {
  const std::string safetensors = Join(dir, "model.safetensors");
  if (Kind(safetensors) == PathKind::kFile) return safetensors;
  const std::string onnx = Join(dir, "model.onnx");
  if (Kind(onnx) == PathKind::kFile) return onnx;
  const std::string index = Join(dir, kShardIndex);
  if (Kind(index) == PathKind::kFile) return index;
  std::vector<std::string> onnx_files = FilesWithExtension(dir, kOnnxExtension);
  if (onnx_files.size() == 1) return Join(dir, onnx_files[0]);
  if (onnx_files.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        dir, ": several .onnx files (", absl::StrJoin(onnx_files, ", "), "); pass the one to load"));
  }
  const std::string hub_onnx = Join(dir, "onnx/model.onnx");
  if (Kind(hub_onnx) == PathKind::kFile) return hub_onnx;
  for (const char* other : {"pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5",
                            "flax_model.msgpack", "model.pt", "model.bin"}) {
    if (Kind(Join(dir, other)) == PathKind::kFile) {
      return absl::FailedPreconditionError(absl::StrCat(
          dir, ": the weights are only in ", other,
          ", which qkv does not read (pickled or framework-specific files); convert them to "
          "model.safetensors (transformers: AutoModel.from_pretrained(dir).save_pretrained(dir, "
          "safe_serialization=True)) or export model.onnx (optimum-cli export onnx --model dir out)"));
    }
  }
  return absl::NotFoundError(
      absl::StrCat(dir, ": no model.safetensors, model.onnx, onnx/model.onnx or other .onnx weights file"));
}

}  // namespace

absl::StatusOr<LoadedModel> LoadModel(const std::string& path) {
  std::string dir;
  std::string weights_path;
  const PathKind kind = Kind(path);
  if (kind == PathKind::kMissing) {
    return absl::NotFoundError(absl::StrCat(path, ": no such model file or directory"));
  } else if (kind == PathKind::kDirectory) {
    dir = path;
    QKV_ASSIGN_OR_RETURN(weights_path, FindWeightsFile(dir));
  } else if (kind == PathKind::kFile &&
             (absl::EndsWith(path, kSafetensorsExtension) || absl::EndsWith(path, kOnnxExtension))) {
    dir = Parent(path);
    weights_path = path;
    // The Hugging Face Hub layout keeps exports in a subfolder (onnx/model.onnx) beside the root's config.
    if (Kind(Join(dir, "config.json")) != PathKind::kFile &&
        Kind(Join(Parent(dir), "config.json")) == PathKind::kFile) {
      dir = Parent(dir);
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a model directory, .safetensors or .onnx file"));
  }
  const bool onnx = absl::EndsWith(weights_path, kOnnxExtension);

  const std::string config_path = Join(dir, "config.json");
  if (Kind(config_path) != PathKind::kFile) {
    return absl::NotFoundError(absl::StrCat(config_path, ": missing; a model directory needs a config.json"));
  }
  QKV_ASSIGN_OR_RETURN(ModelConfig config, ReadModelConfig(config_path));
  QKV_ASSIGN_OR_RETURN(SentenceTransformersConfig sentence_transformers, ReadSentenceTransformersConfig(dir));
  config.max_seq_length = sentence_transformers.max_seq_length;
  if (config.max_seq_length > 0) {
    const std::string& file = sentence_transformers.sentence_config_file;
    config.max_seq_length_file = file.substr(file.rfind('/') + 1);
  }

  QKV_ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::FromModelDirectory(dir));
  if (sentence_transformers.do_lower_case &&
      !(tokenizer.model_type() == "WordPiece" && tokenizer.options().lower_case)) {
    return absl::UnimplementedError(absl::StrCat(
        sentence_transformers.sentence_config_file,
        ": do_lower_case true (sentence-transformers lower-cases texts before tokenizing) is supported only "
        "with a tokenizer that lower-cases anyway (uncased WordPiece); this one does not"));
  }
  if (tokenizer.vocab_size() > config.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": the vocabulary has ", tokenizer.vocab_size(),
                                                   " tokens but ", config_path, " says vocab_size ",
                                                   config.vocab_size));
  }

  absl::StatusOr<BertWeights> weights;
  if (onnx) {
    weights = ReadOnnxBertWeights(weights_path, config);
  } else if (absl::EndsWith(weights_path, kShardIndex)) {
    weights = ReadShardedSafetensorsBertWeights(weights_path, config);
  } else {
    weights = ReadSafetensorsBertWeights(weights_path, config);
  }
  if (!weights.ok()) return weights.status();
  return LoadedModel{std::move(config),
                     *std::move(weights),
                     std::move(tokenizer),
                     std::move(weights_path),
                     onnx ? "onnx" : "safetensors",
                     std::move(dir),
                     std::move(sentence_transformers)};
}

}  // namespace qkv
