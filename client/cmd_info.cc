// qkv info: the served model, its architecture and the server's limits (GetModelInfo RPC).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/cli.h"
#include "client/json_writer.h"

namespace qkv {
namespace {

constexpr char kCommand[] = "info";

std::string PoolingName(v1::Pooling p) {
  switch (p) {
    case v1::POOLING_NONE:
      return "none";
    case v1::POOLING_CLS:
      return "cls";
    case v1::POOLING_MEAN:
      return "mean";
    case v1::POOLING_POOLER:
      return "pooler";
    default:
      return "unspecified";
  }
}

std::string InfoText(const v1::GetModelInfoResponse& r) {
  const v1::ModelArchitecture& a = r.architecture();
  const v1::SpecialTokenIds& s = r.special_tokens();
  const v1::ServerLimits& l = r.limits();
  std::string out;
  if (!r.version().empty()) absl::StrAppendFormat(&out, "server version:   %s\n", r.version());
  absl::StrAppendFormat(&out, "model:            %s\n", r.model());
  absl::StrAppendFormat(&out, "weights:          %s (%s)\n", r.model_path(), r.format());
  absl::StrAppendFormat(&out, "architecture:     %s, %d layers, hidden %d, %d heads, ffn %d\n",
                        a.model_type(), a.num_layers(), a.hidden_size(), a.num_attention_heads(),
                        a.intermediate_size());
  absl::StrAppendFormat(&out, "vocabulary:       %d tokens (%s), max %d positions, %d token types\n",
                        a.vocab_size(), r.lower_case() ? "lower-cased" : "cased", a.max_position_embeddings(),
                        a.type_vocab_size());
  absl::StrAppendFormat(&out, "special tokens:   [CLS]=%d [SEP]=%d [PAD]=%d [UNK]=%d [MASK]=%d\n", s.cls(),
                        s.sep(), s.pad(), s.unk(), s.mask());
  absl::StrAppendFormat(&out, "pooling:          default %s%s, pooler %s\n", PoolingName(r.default_pooling()),
                        r.default_normalize() ? " (normalized)" : "",
                        r.has_pooler() ? "available" : "absent");
  absl::StrAppendFormat(&out, "precision:        %s\n", r.precision());
  absl::StrAppendFormat(
      &out,
      "limits:           batch %d tokens / %d sequences, queue %d tokens, message %d bytes,\n"
      "                  attention %d bytes, queue delay %d us\n",
      l.max_batch_tokens(), l.max_batch_sequences(), l.max_queued_tokens(), l.max_message_bytes(),
      l.max_attention_bytes(), l.max_queue_delay_us());
  absl::StrAppendFormat(&out, "workers:          %d x %d threads\n", l.workers(), l.threads_per_worker());
  if (r.kernels_size() > 0) {
    absl::StrAppend(&out, "kernels:\n");
    for (const std::string& k : r.kernels()) absl::StrAppend(&out, "  ", k, "\n");
  }
  return out;
}

std::string InfoJson(const v1::GetModelInfoResponse& r) {
  const v1::ModelArchitecture& a = r.architecture();
  const v1::SpecialTokenIds& s = r.special_tokens();
  const v1::ServerLimits& l = r.limits();
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("version");
  w.String(r.version());
  w.Key("model");
  w.String(r.model());
  w.Key("model_path");
  w.String(r.model_path());
  w.Key("format");
  w.String(r.format());
  w.Key("architecture");
  w.BeginObject();
  w.Key("model_type");
  w.String(a.model_type());
  w.Key("num_layers");
  w.Int(a.num_layers());
  w.Key("hidden_size");
  w.Int(a.hidden_size());
  w.Key("num_attention_heads");
  w.Int(a.num_attention_heads());
  w.Key("intermediate_size");
  w.Int(a.intermediate_size());
  w.Key("vocab_size");
  w.Int(a.vocab_size());
  w.Key("max_position_embeddings");
  w.Int(a.max_position_embeddings());
  w.Key("type_vocab_size");
  w.Int(a.type_vocab_size());
  w.EndObject();
  w.Key("special_tokens");
  w.BeginObject();
  w.Key("cls");
  w.Int(s.cls());
  w.Key("sep");
  w.Int(s.sep());
  w.Key("pad");
  w.Int(s.pad());
  w.Key("unk");
  w.Int(s.unk());
  w.Key("mask");
  w.Int(s.mask());
  w.EndObject();
  w.Key("default_pooling");
  w.String(PoolingName(r.default_pooling()));
  w.Key("default_normalize");
  w.Bool(r.default_normalize());
  w.Key("has_pooler");
  w.Bool(r.has_pooler());
  w.Key("precision");
  w.String(r.precision());
  w.Key("lower_case");
  w.Bool(r.lower_case());
  w.Key("limits");
  w.BeginObject();
  w.Key("max_batch_tokens");
  w.Int(l.max_batch_tokens());
  w.Key("max_batch_sequences");
  w.Int(l.max_batch_sequences());
  w.Key("max_queued_tokens");
  w.Int(l.max_queued_tokens());
  w.Key("max_message_bytes");
  w.Int(l.max_message_bytes());
  w.Key("max_attention_bytes");
  w.Int(l.max_attention_bytes());
  w.Key("max_queue_delay_us");
  w.Int(l.max_queue_delay_us());
  w.Key("workers");
  w.Int(l.workers());
  w.Key("threads_per_worker");
  w.Int(l.threads_per_worker());
  w.EndObject();
  w.Key("kernels");
  w.BeginArray();
  for (const std::string& k : r.kernels()) w.String(k);
  w.EndArray();
  w.EndObject();
  out += "\n";
  return out;
}

}  // namespace

int RunInfoCommand(const std::vector<std::string>& args, CliEnv& env) {
  FlagSet flags("qkv info [flags]",
                "Describes the served model (architecture, special tokens, pooling) and the\n"
                "server's limits (GetModelInfo).");
  GlobalOptions global;
  std::string format = "table";
  flags.AddChoice("format", &format, {"table", "json"}, "output format");
  AddGlobalFlags(&flags, &global);
  std::vector<std::string> positional;
  if (int code = ParseCommandFlags(kCommand, flags, args, &positional, env); code >= 0) return code;
  if (!positional.empty())
    return UsageError(kCommand, absl::StrCat("unexpected argument ", positional[0]), env);
  int exit_code = kExitOk;
  std::unique_ptr<EncoderClient> client = MakeClient(kCommand, global, env, &exit_code);
  if (client == nullptr) return exit_code;
  v1::GetModelInfoResponse response;
  grpc::Status status = client->GetModelInfo(&response);
  if (!status.ok()) return RpcError(kCommand, status, env);
  *env.out << (format == "json" ? InfoJson(response) : InfoText(response));
  return kExitOk;
}

}  // namespace qkv
