// qkv info: the served model, its architecture and the server's limits (GetModelInfo RPC).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "client/cli.h"
#include "client/json_dump.h"
#include "common/status_macros.h"

namespace qkv {
namespace {

constexpr char kCommand[] = "info";

// "cls" for POOLING_CLS; "unspecified" for POOLING_UNSPECIFIED and values this client does not know.
std::string PoolingName(v1::Pooling p) {
  const std::string& name = v1::Pooling_Name(p);
  if (name.empty()) return "unspecified";
  return absl::AsciiStrToLower(absl::StripPrefix(name, "POOLING_"));
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
  absl::StrAppendFormat(&out, "vocabulary:       %d tokens (%s%s), max %d positions, %d token types\n",
                        a.vocab_size(), r.tokenizer().empty() ? "" : absl::StrCat(r.tokenizer(), ", "),
                        r.lower_case() ? "lower-cased" : "cased", a.max_position_embeddings(),
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

// architecture, special_tokens and limits hold every field of their message, in field order.
std::string InfoJson(const v1::GetModelInfoResponse& r) {
  const OrderedJson json = {
      {"version", r.version()},
      {"model", r.model()},
      {"model_path", r.model_path()},
      {"format", r.format()},
      {"architecture", ProtoToJson(r.architecture())},
      {"special_tokens", ProtoToJson(r.special_tokens())},
      {"default_pooling", PoolingName(r.default_pooling())},
      {"default_normalize", r.default_normalize()},
      {"has_pooler", r.has_pooler()},
      {"precision", r.precision()},
      {"lower_case", r.lower_case()},
      {"tokenizer", r.tokenizer()},
      {"limits", ProtoToJson(r.limits())},
      {"kernels", r.kernels()},
  };
  return DumpJsonLine(json);
}

}  // namespace

int RunInfoCommand(const std::vector<std::string>& args, CliEnv& env) {
  Subcommand cmd(kCommand, "qkv info [flags]",
                 "Describes the served model (architecture, special tokens, pooling) and the\n"
                 "server's limits (GetModelInfo).",
                 env);
  std::string format = "table";
  cmd.flags().AddChoice("format", &format, {"table", "json"}, "output format");
  return cmd.Run(args, [&](const std::vector<std::string>& positional) -> absl::Status {
    if (!positional.empty()) return UsageError(absl::StrCat("unexpected argument ", positional[0]));
    QKV_ASSIGN_OR_RETURN(std::unique_ptr<EncoderClient> client, cmd.Connect());
    v1::GetModelInfoResponse response;
    QKV_RETURN_IF_ERROR(client->GetModelInfo(&response));
    *env.out << (format == "json" ? InfoJson(response) : InfoText(response));
    return absl::OkStatus();
  });
}

}  // namespace qkv
