// The sentence-transformers files of a model directory that change what the encoder's output means:
// 1_Pooling/config.json (which pooled vector the model's embeddings are), modules.json (whether a
// Normalize module makes them unit vectors) and sentence_bert_config.json (max_seq_length: the tokens the
// model takes). Read by LoadModel, reported through LoadedModel.
//
// Thread safety: pure functions (they read files, nothing shared).
#ifndef QKV_CORE_SENTENCE_TRANSFORMERS_H_
#define QKV_CORE_SENTENCE_TRANSFORMERS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/encoder.h"

namespace qkv {

struct SentenceTransformersConfig {
  // The pooling 1_Pooling/config.json enables (kMean or kCls); std::nullopt without the file or when it
  // enables no mode.
  std::optional<Pooling> pooling;
  // True when modules.json lists a sentence_transformers.models.Normalize module; false without the file.
  // A modules.json with any module other than Transformer, Pooling and Normalize (Dense, ...) is refused.
  bool normalize = false;
  // max_seq_length of sentence_bert_config.json (or of the legacy sentence_<family>_config.json names
  // sentence-transformers and TEI also read, first found wins); 0 without one. sentence-transformers
  // truncates to it, and TEI takes it as the input limit; LoadModel caps ModelConfig::max_tokens() with it.
  int64_t max_seq_length = 0;
  // do_lower_case of the same file: sentence-transformers lower-cases texts before its tokenizer when true.
  // LoadModel accepts it only where the tokenizer lower-cases anyway (uncased WordPiece): the same ids but
  // for upper-case special tokens typed in the text and word-final capital sigmas (docs/model-families.md).
  bool do_lower_case = false;
  // The file max_seq_length and do_lower_case came from; empty without one.
  std::string sentence_config_file;
};

// Reads <dir>/1_Pooling/config.json and <dir>/modules.json; a file that does not exist is no error, one
// that exists but cannot be read (or is over 1 MiB) is (ReadFileToString's code). A pooling config
// that is not a JSON object, or that enables any other mode (max, weighted mean, ...) or several, is an
// error naming the file (InvalidArgument, resp. Unimplemented): serving the model with another pooling
// would return wrong vectors. So is a modules.json that is not a JSON array of {"type": string} objects
// (InvalidArgument) or that lists a module other than sentence_transformers.models.Transformer, Pooling and
// Normalize, e.g. LaBSE's Dense (Unimplemented, naming the module), and a
// sentence_bert_config.json that is not a JSON object, whose max_seq_length is not a positive integer
// (a null or missing max_seq_length means no cap) or whose do_lower_case is not a boolean (InvalidArgument
// naming the file and field).
absl::StatusOr<SentenceTransformersConfig> ReadSentenceTransformersConfig(const std::string& dir);

}  // namespace qkv

#endif  // QKV_CORE_SENTENCE_TRANSFORMERS_H_
