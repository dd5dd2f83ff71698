#include "core/model_family.h"

#include <cmath>
#include <cstdlib>

namespace qkv {
namespace {

constexpr ConfigFieldNames kBertConfigNames = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                               "intermediate_size", "hidden_act"};

// BERT's tensor names; RoBERTa and XLM-RoBERTa differ only in the task prefix.
constexpr WeightNames BertStyleNames(absl::string_view task_prefix) {
  return WeightNames{task_prefix,
                     "embeddings.word_embeddings",
                     "embeddings.position_embeddings",
                     "embeddings.token_type_embeddings",
                     "embeddings.LayerNorm",
                     "encoder.layer.",
                     "attention.self.query",
                     "attention.self.key",
                     "attention.self.value",
                     "attention.output.dense",
                     "attention.output.LayerNorm",
                     "intermediate.dense",
                     "output.dense",
                     "output.LayerNorm",
                     "pooler.dense",
                     ""};
}

// BERT, and the starting point of the others.
constexpr FamilyTraits Bert() {
  FamilyTraits f{};
  f.family = ModelFamily::kBert;
  f.model_type = "bert";
  f.config_names = kBertConfigNames;
  f.weights = BertStyleNames("bert.");
  f.positions = PositionIds::kAbsolute;
  f.token_type_embeddings = true;
  f.tokenizer_type_ids = true;
  f.layer_norm_eps_key = "layer_norm_eps";
  f.default_layer_norm_eps = 1e-12;
  f.default_pad_token_id = 0;
  f.fixed_padding_idx = -1;
  f.relative_attention_bias = false;
  return f;
}

// RoBERTa and XLM-RoBERTa: BERT with positions after padding_idx (= pad_token_id, default 1), a one-row
// token type table and the "roberta." task prefix (XLM-RoBERTa's task models use it too).
constexpr FamilyTraits Roberta(ModelFamily family, const char* model_type) {
  FamilyTraits f = Bert();
  f.family = family;
  f.model_type = model_type;
  f.weights = BertStyleNames("roberta.");
  f.positions = PositionIds::kFromPadding;
  f.tokenizer_type_ids = false;
  f.default_pad_token_id = 1;
  return f;
}

// DistilBERT: its own config keys and tensor names, no token types, no pooler, LayerNorm eps fixed at 1e-12.
constexpr FamilyTraits DistilBert() {
  FamilyTraits f = Bert();
  f.family = ModelFamily::kDistilBert;
  f.model_type = "distilbert";
  f.config_names = {"dim", "n_layers", "n_heads", "hidden_dim", "activation"};
  f.weights = WeightNames{"distilbert.",
                          "embeddings.word_embeddings",
                          "embeddings.position_embeddings",
                          /*token_type_embeddings=*/"",
                          "embeddings.LayerNorm",
                          "transformer.layer.",
                          "attention.q_lin",
                          "attention.k_lin",
                          "attention.v_lin",
                          "attention.out_lin",
                          "sa_layer_norm",
                          "ffn.lin1",
                          "ffn.lin2",
                          "output_layer_norm",
                          /*pooler=*/"",
                          /*relative_attention_bias=*/""};
  f.token_type_embeddings = false;
  f.tokenizer_type_ids = false;
  f.layer_norm_eps_key = nullptr;
  return f;
}

// MPNet: BERT's config keys, its own tensor names, no token types, positions after padding_idx 1 (fixed in
// HF's MPNetEmbeddings), and the relative attention bias.
constexpr FamilyTraits Mpnet() {
  FamilyTraits f = Bert();
  f.family = ModelFamily::kMpnet;
  f.model_type = "mpnet";
  f.weights = WeightNames{"mpnet.",
                          "embeddings.word_embeddings",
                          "embeddings.position_embeddings",
                          /*token_type_embeddings=*/"",
                          "embeddings.LayerNorm",
                          "encoder.layer.",
                          "attention.attn.q",
                          "attention.attn.k",
                          "attention.attn.v",
                          "attention.attn.o",
                          "attention.LayerNorm",
                          "intermediate.dense",
                          "output.dense",
                          "output.LayerNorm",
                          "pooler.dense",
                          "encoder.relative_attention_bias"};
  f.positions = PositionIds::kFromPadding;
  f.token_type_embeddings = false;
  f.tokenizer_type_ids = false;
  f.default_pad_token_id = 1;
  f.fixed_padding_idx = 1;
  f.relative_attention_bias = true;
  return f;
}

constexpr FamilyTraits kFamilies[] = {Bert(), Roberta(ModelFamily::kRoberta, "roberta"),
                                      Roberta(ModelFamily::kXlmRoberta, "xlm-roberta"), DistilBert(),
                                      Mpnet()};

}  // namespace

const FamilyTraits* FindFamily(absl::string_view model_type) {
  for (const FamilyTraits& traits : kFamilies) {
    if (model_type == traits.model_type) return &traits;
  }
  return nullptr;
}

const FamilyTraits& Traits(ModelFamily family) {
  for (const FamilyTraits& traits : kFamilies) {
    if (traits.family == family) return traits;
  }
  std::abort();  // every enumerator has a row
}

absl::string_view SupportedModelTypes() { return "bert, roberta, xlm-roberta, distilbert, mpnet"; }

int64_t RelativePositionBucket(int64_t query, int64_t key) {
  constexpr int64_t kHalf = kRelativeAttentionBuckets / 2;  // one half per direction
  constexpr int64_t kMaxExact = kHalf / 2;
  int64_t n = query - key;
  int64_t bucket = n < 0 ? kHalf : 0;
  n = std::abs(n);
  if (n < kMaxExact) return bucket + n;
  // float32 arithmetic, as HF computes it (torch.log on a float tensor, the scalar divisor rounded to float).
  static const float kLogRange =
      static_cast<float>(std::log(static_cast<double>(kRelativeAttentionMaxDistance) / kMaxExact));
  const float scaled = std::log(static_cast<float>(n) / static_cast<float>(kMaxExact)) / kLogRange *
                       static_cast<float>(kHalf - kMaxExact);
  const int64_t large = kMaxExact + static_cast<int64_t>(scaled);
  return bucket + (large < kHalf - 1 ? large : kHalf - 1);
}

}  // namespace qkv
