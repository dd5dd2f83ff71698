#include "server/proto_convert.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "core/input_validation.h"
#include "core/precision.h"
#include "qkv_version.h"

namespace qkv {
namespace {

absl::Status Invalid(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// Prefixes a core error (e.g. the tokenizer's invalid UTF-8) with the field it came from.
absl::Status WithField(const std::string& field, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(field, ": ", status.message()));
}

// Appends what the caller can do about a core error.
absl::Status WithHint(const absl::Status& status, absl::string_view hint) {
  return absl::Status(status.code(), absl::StrCat(status.message(), "; ", hint));
}

// The poolings both sides name (POOLING_UNSPECIFIED means the model's default).
constexpr std::pair<v1::Pooling, Pooling> kPoolings[] = {{v1::POOLING_NONE, Pooling::kNone},
                                                         {v1::POOLING_CLS, Pooling::kCls},
                                                         {v1::POOLING_MEAN, Pooling::kMean},
                                                         {v1::POOLING_POOLER, Pooling::kPooler}};
// A new pooling on either side must be added to the table.
static_assert(std::size(kPoolings) == static_cast<size_t>(Pooling::kPooler) + 1,
              "kPoolings misses a Pooling");
static_assert(std::size(kPoolings) == v1::Pooling_ARRAYSIZE - 1, "kPoolings misses a v1::Pooling");

absl::StatusOr<Pooling> FromProto(v1::Pooling pooling, const ServedModel& model) {
  if (pooling == v1::POOLING_UNSPECIFIED) return model.default_pooling;
  for (const auto& [proto, core] : kPoolings) {
    if (proto != pooling) continue;
    QKV_RETURN_IF_ERROR(
        ValidatePooling(core, model.has_pooler, "options.pooling", v1::Pooling_Name(proto), model.name));
    return core;
  }
  return Invalid("options.pooling", absl::StrCat("unknown value ", static_cast<int>(pooling)));
}

// Says where the limit comes from when it is the sentence-transformers cap (else "").
std::string LimitSource(const ServedModel& model, int limit) {
  if (!model.config.capped_by_max_seq_length() || limit != model.config.max_tokens()) return "";
  return absl::StrCat(" (the model's limit: max_seq_length in ", model.config.max_seq_length_file, ")");
}

absl::Status PrepareIds(const v1::TokenIds& input, const std::string& field, const ServedModel& model,
                        v1::Truncation truncation, int limit, PreparedSequence* out) {
  QKV_RETURN_IF_ERROR(ValidateTokenIds(model.config, input.ids(), input.token_type_ids(),
                                       {field + ".ids", field + ".token_type_ids"}));
  int n = input.ids_size();
  if (truncation == v1::TRUNCATION_TRUNCATE) {
    out->truncated = n > limit;
    n = std::min(n, limit);
  } else if (absl::Status status = ValidateLength(n, limit, field + ".ids", "max length"); !status.ok()) {
    return WithHint(absl::Status(status.code(), absl::StrCat(status.message(), LimitSource(model, limit))),
                    "shorten the input or set options.truncation to TRUNCATION_TRUNCATE");
  }
  out->ids.assign(input.ids().begin(), input.ids().begin() + n);
  if (input.token_type_ids().empty()) {
    out->type_ids.assign(n, 0);
  } else {
    out->type_ids.assign(input.token_type_ids().begin(), input.token_type_ids().begin() + n);
  }
  out->tokens.reserve(n);
  for (int32_t id : out->ids) out->tokens.push_back(model.tokenizer.IdToToken(id));
  return absl::OkStatus();
}

// Tokenizes text (or a pair) within `limit` tokens: TRUNCATION_TRUNCATE cuts, anything else rejects. The
// tokenizer stops once the limit is settled, so an over-long text costs no more than `limit` tokens.
absl::StatusOr<Encoding> EncodeText(const std::string& text, const std::string* text_pair,
                                    const std::string& field, const ServedModel& model,
                                    v1::Truncation truncation, int limit) {
  const LengthLimit length_limit = {
      limit, truncation == v1::TRUNCATION_TRUNCATE ? OverflowPolicy::kTruncate : OverflowPolicy::kReject};
  absl::StatusOr<Encoding> encoding = text_pair == nullptr
                                          ? model.tokenizer.Encode(text, length_limit)
                                          : model.tokenizer.EncodePair(text, *text_pair, length_limit);
  if (!encoding.ok()) {
    if (absl::IsOutOfRange(encoding.status())) {  // longer than the limit
      return Invalid(field, absl::StrCat(encoding.status().message(), LimitSource(model, limit),
                                         "; shorten the text or set truncation to TRUNCATION_TRUNCATE"));
    }
    return WithField(field, encoding.status());
  }
  // Only BERT feeds the tokenizer's segment ids to the model (as Hugging Face does); the other families get
  // 0s, in Encode and in what Tokenize returns alike.
  if (!model.config.traits().tokenizer_type_ids) {
    std::fill(encoding->type_ids.begin(), encoding->type_ids.end(), 0);
  }
  return encoding;
}

absl::StatusOr<int> TokenLimit(v1::Truncation truncation, int32_t max_length, const std::string& field_prefix,
                               const ServedModel& model) {
  if (truncation != v1::TRUNCATION_UNSPECIFIED && truncation != v1::TRUNCATION_REJECT &&
      truncation != v1::TRUNCATION_TRUNCATE) {
    return Invalid(field_prefix + "truncation", absl::StrCat("unknown value ", static_cast<int>(truncation)));
  }
  const int64_t positions = model.config.max_tokens();  // RoBERTa-style: P - padding_idx - 1
  if (max_length < 0 || max_length > positions) {
    return Invalid(field_prefix + "max_length", absl::StrCat(max_length, " out of range [0, ", positions,
                                                             "] (0 = the model's ", positions, ")"));
  }
  return max_length == 0 ? static_cast<int>(positions) : max_length;
}

void SetTensor(std::initializer_list<int64_t> shape, const float* data, size_t n, v1::Tensor* tensor) {
  for (int64_t d : shape) tensor->add_shape(d);
  tensor->mutable_values()->Assign(data, data + n);
}

}  // namespace

v1::Pooling ToProto(Pooling pooling) {
  for (const auto& [proto, core] : kPoolings) {
    if (core == pooling) return proto;
  }
  return v1::POOLING_UNSPECIFIED;
}

absl::StatusOr<PreparedEncode> PrepareEncode(const v1::EncodeRequest& request, const ServedModel& model,
                                             const ServerConfig& config) {
  const ModelConfig& mc = model.config;
  const int layers = static_cast<int>(mc.num_hidden_layers);
  const int heads = static_cast<int>(mc.num_attention_heads);
  const int64_t hidden = mc.hidden_size;
  if (request.inputs().empty()) return Invalid("inputs", "no inputs; send at least one");
  if (request.inputs_size() > config.max_batch_sequences) {
    return Invalid("inputs", absl::StrCat(request.inputs_size(),
                                          " inputs > --max_batch_sequences=", config.max_batch_sequences));
  }

  const v1::EncodeOptions& options = request.options();
  PreparedEncode prepared;
  OutputSpec& spec = prepared.spec;
  QKV_ASSIGN_OR_RETURN(spec.pooling, FromProto(options.pooling(), model));
  spec.normalize = options.has_normalize() ? options.normalize() : model.default_normalize;
  spec.token_vectors = options.return_token_vectors();
  const IndexRules layer_rules = {/*allow_negative=*/true, /*allow_repeats=*/false};
  QKV_ASSIGN_OR_RETURN(spec.hidden_state_layers,
                       ResolveIndices(options.hidden_state_layers(), layers + 1, layer_rules,
                                      "options.hidden_state_layers", "layer"));
  // An attention message without layers asks for the last layer.
  google::protobuf::RepeatedField<int32_t> attention_layers = options.attention().layers();
  if (options.has_attention() && attention_layers.empty()) attention_layers.Add(-1);
  QKV_ASSIGN_OR_RETURN(spec.attention_layers, ResolveIndices(attention_layers, layers, layer_rules,
                                                             "options.attention.layers", "layer"));
  QKV_ASSIGN_OR_RETURN(
      prepared.attention_heads,
      ResolveIndices(options.attention().heads(), heads, IndexRules{}, "options.attention.heads", "head"));
  QKV_ASSIGN_OR_RETURN(const int limit,
                       TokenLimit(options.truncation(), options.max_length(), "options.", model));

  prepared.sequences.resize(request.inputs_size());
  for (int i = 0; i < request.inputs_size(); ++i) {
    const v1::Input& input = request.inputs(i);
    const std::string field = absl::StrCat("inputs[", i, "]");
    PreparedSequence& seq = prepared.sequences[i];
    seq.id = input.id();
    switch (input.content_case()) {
      case v1::Input::kIds:
        QKV_RETURN_IF_ERROR(
            PrepareIds(input.ids(), field + ".ids", model, options.truncation(), limit, &seq));
        break;
      case v1::Input::kText: {
        const v1::TextInput& text = input.text();
        QKV_ASSIGN_OR_RETURN(Encoding encoding,
                             EncodeText(text.text(), text.has_text_pair() ? &text.text_pair() : nullptr,
                                        field + ".text", model, options.truncation(), limit));
        // On BERT, a pair's second segment has type 1, which a model with type_vocab_size 1 has no
        // embedding for.
        for (int32_t type : encoding.type_ids) {
          if (type >= mc.type_vocab_size) {
            return Invalid(field + ".text.text_pair",
                           absl::StrCat("the model has type_vocab_size ", mc.type_vocab_size,
                                        ", so no second segment; send the texts as one text or as ids"));
          }
        }
        seq.ids = std::move(encoding.ids);
        seq.type_ids = std::move(encoding.type_ids);
        seq.tokens = std::move(encoding.tokens);
        seq.truncated = encoding.truncated;
        break;
      }
      default:
        return Invalid(field, "no content; set ids or text");
    }
    prepared.input_tokens += static_cast<int64_t>(seq.ids.size());
  }

  // Size checks before any compute. The encoder copies all H heads of each requested layer.
  const int out_heads =
      prepared.attention_heads.empty() ? heads : static_cast<int>(prepared.attention_heads.size());
  int64_t attention_bytes = 0, response_bytes = 0;
  for (const PreparedSequence& seq : prepared.sequences) {
    const int64_t t = static_cast<int64_t>(seq.ids.size());
    const int64_t n_layers = static_cast<int64_t>(spec.attention_layers.size());
    attention_bytes += 4 * heads * t * t * n_layers;
    // Per token: id, type id, and a token string of at most ~24 bytes with its framing.
    response_bytes += 64 + static_cast<int64_t>(seq.id.size()) + 32 * t +
        4 *
        (t * hidden * ((spec.token_vectors ? 1 : 0) + static_cast<int64_t>(spec.hidden_state_layers.size())) +
         (spec.pooling == Pooling::kNone ? 0 : hidden) + out_heads * t * t * n_layers);
  }
  if (attention_bytes > config.max_attention_bytes) {
    return Invalid("options.attention",
                   absl::StrCat(attention_bytes,
                                " bytes of attention probabilities > "
                                "--max_attention_bytes=",
                                config.max_attention_bytes, "; ask for fewer layers or shorter inputs"));
  }
  if (response_bytes > config.max_message_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the response would exceed ", response_bytes, " bytes > --max_message_bytes=",
                     config.max_message_bytes, "; ask for fewer outputs or split the request"));
  }
  prepared.response_bytes = response_bytes;
  return prepared;
}

EncodeJob MakeEncodeJob(const PreparedEncode& prepared, absl::Time deadline) {
  EncodeJob job;
  job.deadline = deadline;
  job.sequences.reserve(prepared.sequences.size());
  for (const PreparedSequence& seq : prepared.sequences) {
    job.sequences.push_back(SequenceInput{seq.ids, seq.type_ids, prepared.spec});
  }
  return job;
}

absl::Status FillEncodeResponse(const PreparedEncode& prepared, JobResult result, absl::Duration total,
                                const ServedModel& model, const ServerConfig& config,
                                v1::EncodeResponse* response) {
  const int64_t d = model.config.hidden_size;
  const int64_t h = model.config.num_attention_heads;
  const OutputSpec& spec = prepared.spec;
  if (result.outputs.size() != prepared.sequences.size()) {
    return absl::InternalError(
        absl::StrCat("got ", result.outputs.size(), " outputs for ", prepared.sequences.size(), " inputs"));
  }
  for (size_t i = 0; i < prepared.sequences.size(); ++i) {
    const PreparedSequence& seq = prepared.sequences[i];
    const SequenceOutput& out = result.outputs[i];
    const int64_t t = static_cast<int64_t>(seq.ids.size());
    const size_t td = static_cast<size_t>(t * d);
    v1::Output* o = response->add_outputs();
    o->set_id(seq.id);
    o->mutable_ids()->Assign(seq.ids.begin(), seq.ids.end());
    for (const std::string& token : seq.tokens) o->add_tokens(token);
    o->mutable_token_type_ids()->Assign(seq.type_ids.begin(), seq.type_ids.end());
    o->set_truncated(seq.truncated);
    if (spec.token_vectors) {
      if (out.last_hidden.size() != td) {
        return absl::InternalError(absl::StrCat("inputs[", i, "]: last_hidden has ", out.last_hidden.size(),
                                                " values, expected ", td));
      }
      SetTensor({t, d}, out.last_hidden.data(), td, o->mutable_token_vectors());
    }
    if (spec.pooling != Pooling::kNone) {
      if (out.pooled.size() != static_cast<size_t>(d)) {
        return absl::InternalError(
            absl::StrCat("inputs[", i, "]: pooled has ", out.pooled.size(), " values"));
      }
      SetTensor({d}, out.pooled.data(), out.pooled.size(), o->mutable_pooled());
    }
    if (out.hidden_states.size() != spec.hidden_state_layers.size() ||
        out.attentions.size() != spec.attention_layers.size()) {
      return absl::InternalError(
          absl::StrCat("inputs[", i, "]: wrong number of hidden states or attentions"));
    }
    for (const LayerTensor& layer : out.hidden_states) {
      if (layer.data.size() != td) return absl::InternalError("hidden state of the wrong size");
      v1::LayerTensor* lt = o->add_hidden_states();
      lt->set_layer(layer.layer);
      SetTensor({t, d}, layer.data.data(), td, lt->mutable_values());
    }
    const size_t tt = static_cast<size_t>(t * t);
    for (const LayerTensor& layer : out.attentions) {
      if (layer.data.size() != static_cast<size_t>(h) * tt)
        return absl::InternalError("attention of the wrong size");
      v1::LayerAttention* la = o->add_attention();
      la->set_layer(layer.layer);
      if (prepared.attention_heads.empty()) {
        for (int64_t head = 0; head < h; ++head) la->add_heads(static_cast<int32_t>(head));
        SetTensor({h, t, t}, layer.data.data(), layer.data.size(), la->mutable_probs());
        continue;
      }
      const int64_t n = static_cast<int64_t>(prepared.attention_heads.size());
      v1::Tensor* probs = la->mutable_probs();
      probs->add_shape(n);
      probs->add_shape(t);
      probs->add_shape(t);
      probs->mutable_values()->Reserve(static_cast<int>(n * tt));
      for (int head : prepared.attention_heads) {
        la->add_heads(head);
        const float* block = layer.data.data() + static_cast<size_t>(head) * tt;
        probs->mutable_values()->Add(block, block + tt);
      }
    }
  }
  v1::Timing* timing = response->mutable_timing();
  timing->set_queue_us(absl::ToInt64Microseconds(result.queue_time));
  timing->set_compute_us(absl::ToInt64Microseconds(result.compute_time));
  timing->set_total_us(absl::ToInt64Microseconds(total));
  response->set_input_tokens(prepared.input_tokens);
  response->set_batch_tokens(result.batch_tokens);
  response->set_batch_sequences(result.batch_sequences);
  response->set_model(model.name);
  const size_t bytes = response->ByteSizeLong();
  if (bytes > static_cast<size_t>(config.max_message_bytes)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the response has ", bytes, " bytes > --max_message_bytes=", config.max_message_bytes,
                     "; ask for fewer outputs or split the request"));
  }
  return absl::OkStatus();
}

absl::Status Tokenize(const v1::TokenizeRequest& request, const ServedModel& model,
                      v1::TokenizeResponse* response) {
  // Bounded like Encode: TRUNCATION_UNSPECIFIED rejects past the limit.
  QKV_ASSIGN_OR_RETURN(const int limit, TokenLimit(request.truncation(), request.max_length(), "", model));
  QKV_ASSIGN_OR_RETURN(Encoding encoding,
                       EncodeText(request.text(), request.has_text_pair() ? &request.text_pair() : nullptr,
                                  "text", model, request.truncation(), limit));
  response->mutable_ids()->Assign(encoding.ids.begin(), encoding.ids.end());
  for (std::string& token : encoding.tokens) response->add_tokens(std::move(token));
  for (const auto& [begin, end] : encoding.offsets) {
    response->add_byte_begin(begin);
    response->add_byte_end(end);
  }
  for (bool special : encoding.special) response->add_special(special);
  response->mutable_token_type_ids()->Assign(encoding.type_ids.begin(), encoding.type_ids.end());
  response->set_truncated(encoding.truncated);
  return absl::OkStatus();
}

void FillModelInfo(const ServedModel& model, const ServerConfig& config, v1::GetModelInfoResponse* response) {
  const ModelConfig& mc = model.config;
  response->set_model(model.name);
  response->set_model_path(model.weights_path);
  response->set_format(model.format);
  v1::ModelArchitecture* arch = response->mutable_architecture();
  arch->set_model_type(mc.model_type);
  arch->set_num_layers(static_cast<int32_t>(mc.num_hidden_layers));
  arch->set_hidden_size(static_cast<int32_t>(mc.hidden_size));
  arch->set_num_attention_heads(static_cast<int32_t>(mc.num_attention_heads));
  arch->set_intermediate_size(static_cast<int32_t>(mc.intermediate_size));
  arch->set_vocab_size(static_cast<int32_t>(mc.vocab_size));
  arch->set_max_position_embeddings(static_cast<int32_t>(mc.max_tokens()));
  arch->set_type_vocab_size(static_cast<int32_t>(mc.type_vocab_size));
  const SpecialTokens& special = model.tokenizer.special_tokens();
  v1::SpecialTokenIds* ids = response->mutable_special_tokens();
  ids->set_cls(special.cls);
  ids->set_sep(special.sep);
  ids->set_pad(special.pad);
  ids->set_unk(special.unk);
  ids->set_mask(special.mask);
  response->set_default_pooling(ToProto(model.default_pooling));
  response->set_default_normalize(model.default_normalize);
  response->set_has_pooler(model.has_pooler);
  response->set_precision(PrecisionName(model.precision));
  response->set_cpu_isa(EffectiveCpuIsaName());
  response->set_version(kQkvVersion);
  response->set_lower_case(model.tokenizer.options().lower_case);
  response->set_tokenizer(model.tokenizer.model_type());
  v1::ServerLimits* limits = response->mutable_limits();
  limits->set_max_batch_tokens(config.max_batch_tokens);
  limits->set_max_batch_sequences(config.max_batch_sequences);
  limits->set_max_queued_tokens(config.max_queued_tokens);
  limits->set_max_message_bytes(config.max_message_bytes);
  limits->set_max_attention_bytes(config.max_attention_bytes);
  limits->set_max_queue_delay_us(absl::ToInt64Microseconds(config.max_queue_delay));
  limits->set_workers(config.workers);
  limits->set_threads_per_worker(config.threads_per_worker);
  limits->set_max_text_bytes(config.max_text_bytes);
  limits->set_max_receive_message_bytes(config.max_receive_message_bytes);
  limits->set_max_inflight_bytes(config.max_inflight_bytes);
  limits->set_max_streams(config.max_streams);
  limits->set_max_streams_per_connection(config.max_streams_per_connection);
  limits->set_max_stream_in_flight(config.max_stream_in_flight);
  limits->set_max_client_queue_share(config.max_client_queue_share);
  limits->set_prep_threads(config.prep_threads);
  limits->set_max_prep_queue(config.max_prep_queue);
  for (const std::string& kernel : model.kernels) response->add_kernels(kernel);
}

}  // namespace qkv
