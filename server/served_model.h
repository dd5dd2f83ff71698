// ServedModel: everything the service needs about the one model it serves: the encoder, the tokenizer, the
// architecture and what GetModelInfo reports. Loaded once at startup; immutable afterwards.
//
// Thread safety: immutable after LoadServedModel; share it freely (the Encoder's own contract applies to
// Run: one Workspace per thread).
#ifndef QKV_SERVER_SERVED_MODEL_H_
#define QKV_SERVER_SERVED_MODEL_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/encoder.h"
#include "core/model_config.h"
#include "core/tokenizer.h"

namespace qkv {

struct ServedModel {
  explicit ServedModel(Tokenizer t) : tokenizer(std::move(t)) {}

  std::string name;          // the model directory's base name, e.g. "bert-tiny-random"
  std::string path;          // as given to LoadServedModel
  std::string weights_path;  // the file the weights came from
  std::string format;        // "safetensors" or "onnx"
  ModelConfig config;
  Tokenizer tokenizer;
  bool has_pooler = false;
  // What an unspecified pooling means: the sentence-transformers pooling config (1_Pooling/config.json)
  // when the directory has one (mean or CLS), else kPooler when the model has a pooler, else kCls.
  Pooling default_pooling = Pooling::kCls;
  // What an unset EncodeOptions.normalize means: true when the directory's sentence-transformers
  // modules.json has a Normalize module (the model's embeddings are meant to be unit vectors).
  bool default_normalize = false;
  Precision precision = Precision::kFp32;  // the encoder's (EncoderOptions::precision)
  std::vector<std::string> kernels;  // Encoder::KernelInfo(), for GetModelInfo and the startup line
  std::unique_ptr<Encoder> encoder;  // null only in tests that serve through a fake runner
};

// Loads the model at `path` (see core/model_loader.h for accepted paths) and builds the encoder.
// `max_batch_tokens` bounds one Run (Encoder splits bigger batches); `precision` and `allow_emulated_bf16`
// are EncoderOptions' (bf16 on a CPU without native bf16 is FailedPrecondition unless allowed). The
// directory is read by core's LoadModel only, including its sentence-transformers configs (a pooling or
// modules.json it cannot honour is an error naming the file; see core/sentence_transformers.h).
absl::StatusOr<std::unique_ptr<ServedModel>> LoadServedModel(const std::string& path,
                                                             int64_t max_batch_tokens,
                                                             Precision precision = Precision::kFp32,
                                                             bool allow_emulated_bf16 = false);

// Runs one short sequence ([CLS] [SEP]; [CLS] alone when max_tokens() is 1) through the encoder
// with a fresh workspace, so that the first request pays no one-time costs and a broken model fails at
// startup. REQUIRES: model.encoder.
absl::Status WarmUp(const ServedModel& model);

}  // namespace qkv

#endif  // QKV_SERVER_SERVED_MODEL_H_
