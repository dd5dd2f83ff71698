// LoadModel: reads a model from disk into a ModelConfig, BertWeights and Tokenizer.
//
// Accepted paths:
//   - a Hugging Face model directory holding config.json, vocab.txt and/or tokenizer.json (optionally
//     tokenizer_config.json), and model.safetensors or model.onnx (model.safetensors wins when both exist;
//     else a sharded checkpoint's model.safetensors.index.json, else the only *.onnx, else the Hub's
//     onnx/model.onnx). Only pytorch_model.bin (or another framework's file) is FailedPrecondition saying
//     how to convert it;
//     sentence-transformers' files are honoured (sentence_transformers.h): pooling, Normalize, and
//     max_seq_length, which caps config.max_tokens();
//   - a .safetensors or .onnx file, whose directory holds config.json and the vocabulary, or whose parent
//     does (the Hub's onnx/model.onnx layout).
// Errors are absl::Status values that name the file (and tensor), never a crash.
#ifndef QKV_CORE_MODEL_LOADER_H_
#define QKV_CORE_MODEL_LOADER_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/bert_weights.h"
#include "core/model_config.h"
#include "core/sentence_transformers.h"
#include "core/tokenizer.h"

namespace qkv {

struct LoadedModel {
  ModelConfig config;
  BertWeights weights;
  Tokenizer tokenizer;
  std::string weights_path;  // the file the weights came from
  std::string format;        // "safetensors" or "onnx"
  std::string directory;     // the model directory: where config.json and the vocabulary were read
  // The directory's sentence-transformers pooling and normalization (see sentence_transformers.h).
  SentenceTransformersConfig sentence_transformers;
};

// Reads everything the model directory says about the model, once: config, vocabulary, weights and the
// sentence-transformers configs. Errors as above; the sentence-transformers errors are those of
// ReadSentenceTransformersConfig.
absl::StatusOr<LoadedModel> LoadModel(const std::string& path);

}  // namespace qkv

#endif  // QKV_CORE_MODEL_LOADER_H_
