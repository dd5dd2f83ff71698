// Reads the pipeline of a tokenizer.json whose model is not WordPiece into components (Hugging Face
// tokenizers' serialization): which normalizer, pre-tokenizer, model and post-processor, with their
// settings, and the added tokens. Every component type qkv does not support is an error naming it.
#ifndef QKV_CORE_TOKENIZER_JSON_H_
#define QKV_CORE_TOKENIZER_JSON_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/added_tokens.h"
#include "core/post_processor.h"
#include "core/subword_pipeline.h"
#include "nlohmann/json.hpp"

namespace qkv {

struct PipelineParts {
  std::string model_type;          // tokenizer.json's model.type: "BPE" or "Unigram"
  std::vector<std::string> vocab;  // id -> token: the model's vocabulary, then added tokens past it
  std::unique_ptr<SubwordPipeline> pipeline;
  SpecialsTemplate specials;             // from post_processor
  std::vector<AddedToken> added_tokens;  // all of tokenizer.json's, with their flags
  int32_t unk = -1;                      // the model's unk_token, -1 without
};

// InvalidArgument naming the field (e.g. "pre_tokenizer.type Metaspace is not supported") on anything
// unsupported or malformed (added_tokens is left empty: the caller reads it). REQUIRES: `tokenizer` is a
// JSON object whose model.type is not WordPiece.
absl::StatusOr<PipelineParts> ReadPipelineJson(const nlohmann::json& tokenizer);

// The special-token template of a WordPiece tokenizer.json's post_processor (BertProcessing,
// RobertaProcessing as MPNet has it, TemplateProcessing); nullopt when it has none. RobertaProcessing's
// trim_offsets is moot for WordPiece pieces, which hold no spaces. InvalidArgument naming anything else.
absl::StatusOr<std::optional<SpecialsTemplate>> ReadWordPieceSpecials(const nlohmann::json& tokenizer);

// The model type of a tokenizer.json: model.type, or "WordPiece" when absent.
std::string TokenizerJsonModelType(const nlohmann::json& tokenizer);

}  // namespace qkv

#endif  // QKV_CORE_TOKENIZER_JSON_H_
