// qkv tokenize TEXT: the model's word pieces, ids and byte offsets for TEXT (Tokenize RPC).
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/cli.h"
#include "client/json_writer.h"
#include "client/text_util.h"

namespace qkv {
namespace {

constexpr char kCommand[] = "tokenize";

std::string TokenizeTable(const v1::TokenizeResponse& r) {
  int token_w = 5;
  for (const std::string& t : r.tokens()) token_w = std::max(token_w, DisplayWidth(SanitizeForDisplay(t)));
  token_w = std::min(token_w, 24);
  std::string out =
      absl::StrFormat("%5s  %8s  %s  %4s  %s\n", "#", "id", PadToWidth("token", token_w), "type", "bytes");
  for (int i = 0; i < r.ids_size(); ++i) {
    const std::string token = i < r.tokens_size() ? TruncateToWidth(SanitizeForDisplay(r.tokens(i)), 24) : "";
    std::string bytes;
    if (i < r.special_size() && r.special(i)) {
      bytes = "special";
    } else if (i < r.byte_begin_size() && i < r.byte_end_size()) {
      bytes = absl::StrCat(r.byte_begin(i), "-", r.byte_end(i));
    }
    absl::StrAppendFormat(&out, "%5d  %8d  %s  %4d  %s\n", i, r.ids(i), PadToWidth(token, token_w),
                          i < r.token_type_ids_size() ? r.token_type_ids(i) : 0, bytes);
  }
  absl::StrAppend(&out, r.ids_size(), " tokens", r.truncated() ? " (truncated)" : "", "\n");
  return out;
}

std::string TokenizeJson(const v1::TokenizeResponse& r) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("ids");
  w.IntArray(absl::MakeConstSpan(r.ids().data(), r.ids_size()));
  w.Key("tokens");
  w.BeginArray();
  for (const std::string& t : r.tokens()) w.String(t);
  w.EndArray();
  w.Key("token_type_ids");
  w.IntArray(absl::MakeConstSpan(r.token_type_ids().data(), r.token_type_ids_size()));
  w.Key("byte_begin");
  w.IntArray(absl::MakeConstSpan(r.byte_begin().data(), r.byte_begin_size()));
  w.Key("byte_end");
  w.IntArray(absl::MakeConstSpan(r.byte_end().data(), r.byte_end_size()));
  w.Key("special");
  w.BeginArray();
  for (bool s : r.special()) w.Bool(s);
  w.EndArray();
  w.Key("truncated");
  w.Bool(r.truncated());
  w.EndObject();
  out += "\n";
  return out;
}

}  // namespace

int RunTokenizeCommand(const std::vector<std::string>& args, CliEnv& env) {
  FlagSet flags(
      "qkv tokenize TEXT [flags]",
      "Tokenizes TEXT with the served model's WordPiece vocabulary ([CLS] TEXT [SEP]), without running\n"
      "the model. --ids prints just the ids, comma-separated (ready for 'qkv encode --ids').");
  GlobalOptions global;
  std::string pair;
  std::string format = "table";
  int64_t max_length = 0;
  bool ids_only = false;
  flags.AddString("pair", &pair, "second segment: [CLS] TEXT [SEP] PAIR [SEP]", "TEXT");
  flags.AddInt("max-length", &max_length,
               "truncate to this many tokens (0 = no truncation: text over the model's limit is an error)");
  flags.AddBool("ids", &ids_only, "print only the ids, comma-separated");
  flags.AddChoice("format", &format, {"table", "json"}, "output format");
  AddGlobalFlags(&flags, &global);
  std::vector<std::string> positional;
  if (int code = ParseCommandFlags(kCommand, flags, args, &positional, env); code >= 0) return code;
  if (positional.size() != 1) {
    return UsageError(kCommand, absl::StrCat("expected one TEXT argument, got ", positional.size()), env);
  }
  if (max_length < 0) return UsageError(kCommand, "--max-length must be >= 0", env);
  if (!IsValidUtf8(positional[0]) || !IsValidUtf8(pair))
    return LocalError(kCommand, "text is not valid UTF-8", env);

  int exit_code = kExitOk;
  std::unique_ptr<EncoderClient> client = MakeClient(kCommand, global, env, &exit_code);
  if (client == nullptr) return exit_code;
  v1::TokenizeRequest request;
  request.set_text(positional[0]);
  if (flags.IsSet("pair")) request.set_text_pair(pair);
  if (max_length > 0) {
    request.set_truncation(v1::TRUNCATION_TRUNCATE);
    request.set_max_length(static_cast<int32_t>(max_length));
  }
  v1::TokenizeResponse response;
  grpc::Status status = client->Tokenize(request, &response);
  if (!status.ok()) return RpcError(kCommand, status, env);
  if (ids_only) {
    *env.out << absl::StrJoin(response.ids(), ",") << "\n";
  } else if (format == "json") {
    *env.out << TokenizeJson(response);
  } else {
    *env.out << TokenizeTable(response);
  }
  return kExitOk;
}

}  // namespace qkv
