// ReadSafetensorsBertWeights: loads a Hugging Face checkpoint (model.safetensors, or the shards a
// model.safetensors.index.json lists) of any family of model_family.h into BertWeights.
#ifndef QKV_CORE_SAFETENSORS_MODEL_H_
#define QKV_CORE_SAFETENSORS_MODEL_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/bert_weights.h"
#include "core/model_config.h"

namespace qkv {

// Reads the encoder tensors of a base model (BertModel, RobertaModel, ...) or of a task model whose tensors
// carry the family's prefix ("bert.", "roberta.", "distilbert.", "mpnet.") from `path`, by the names of
// config's family. Linear weights, stored [out, in] by PyTorch, are transposed to [in, out]. F32, F16 and
// BF16 are converted to float32 exactly. Unused tensors (cls.*, embeddings.position_ids, ...) are ignored;
// the pooler is optional. Errors name the file and the tensor.
absl::StatusOr<BertWeights> ReadSafetensorsBertWeights(const std::string& path, const ModelConfig& config);

// The same over a sharded checkpoint: `index_path` is a model.safetensors.index.json whose "weight_map"
// maps tensor names to shard files, plain file names in the index's directory. Each shard is opened once;
// every tensor the map names must be in its shard, and no tensor may be in two shards. An index that is not
// {"weight_map": {name: file, ...}}, is over 16 MiB, names a file with a '/' or a NUL (or "." / ".."), a
// file over 255 bytes or not ending in .safetensors, or more than kMaxSafetensorsShards files is
// InvalidArgument naming the index (tensor and file names in messages are cut to 40 bytes). Shards are
// opened by name, so a shard that is a symbolic link is followed (the Hub cache's snapshots are links).
inline constexpr int kMaxSafetensorsShards = 1024;
absl::StatusOr<BertWeights> ReadShardedSafetensorsBertWeights(const std::string& index_path,
                                                              const ModelConfig& config);

}  // namespace qkv

#endif  // QKV_CORE_SAFETENSORS_MODEL_H_
