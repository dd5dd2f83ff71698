// qkv encode: texts (arguments), token ids (--ids) or one text per line (--file F, or - for stdin) through
// the model. Arguments and --ids go in one Encode call; files go over EncodeStream with a progress bar.
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/cli.h"
#include "client/encode_output.h"
#include "client/input_lines.h"
#include "client/json_writer.h"
#include "client/progress.h"
#include "client/text_util.h"
#include "common/status_macros.h"

namespace qkv {
namespace {

constexpr char kCommand[] = "encode";

v1::Pooling PoolingFromName(const std::string& name) {
  if (name == "cls") return v1::POOLING_CLS;
  if (name == "mean") return v1::POOLING_MEAN;
  if (name == "pooler") return v1::POOLING_POOLER;
  if (name == "none") return v1::POOLING_NONE;
  return v1::POOLING_UNSPECIFIED;
}

struct EncodeFlags {
  std::vector<int64_t> ids;
  bool has_ids = false;
  std::string file;
  std::string pair;
  bool has_pair = false;
  std::string pooling = "default";
  bool normalize = false;     // --normalize: ask for unit vectors
  bool no_normalize = false;  // --no-normalize: ask for raw vectors; neither: the model's default
  bool tokens = false;
  bool token_vectors = false;
  std::vector<int64_t> attention_layers;
  std::vector<int64_t> attention_heads;
  std::vector<int64_t> hidden_states;
  int64_t max_length = 0;
  bool truncate = false;
  std::string format = "table";
  int64_t batch = 16;
  int64_t window = 8;
};

// Emits outputs in the chosen format as they arrive; format json is buffered until Finish(), which
// writes {"model": ..., "outputs": [...]} (the model is known once a response has arrived).
class OutputSink {
 public:
  OutputSink(const EncodeFlags& flags, CliEnv& env) : flags_(flags), env_(env) {
    options_.include_tokens = flags.tokens;
  }

  void SetModel(const std::string& model) {
    if (model_.empty()) model_ = model;
  }

  void Add(int64_t index, const std::string& label, const v1::Output& output) {
    if (flags_.format == "table") {
      *env_.out << FormatOutputTable(index, label, output, options_);
    } else if (flags_.format == "json") {
      Buffered& b = buffered_.emplace_back();
      b.output = output;
    } else {
      std::string line;
      JsonWriter w(&line);
      WriteOutputJson(output, options_, &w);
      *env_.out << line << "\n";
    }
  }

  void AddError(int64_t index, const std::string& label, int code, const std::string& message) {
    if (flags_.format == "table") {
      *env_.out << "[" << index << "] " << TruncateToWidth(SanitizeForDisplay(label), 60)
                << "\n  error: " << absl::StatusCodeToString(static_cast<absl::StatusCode>(code)) << ": "
                << message << "\n";
    } else if (flags_.format == "json") {
      Buffered& b = buffered_.emplace_back();
      b.is_error = true;
      b.error_id = absl::StrCat(index);
      b.error_code = code;
      b.error_message = message;
    } else {
      std::string line;
      JsonWriter w(&line);
      WriteErrorJson(absl::StrCat(index), code, message, &w);
      *env_.out << line << "\n";
    }
  }

  void Finish() {
    if (flags_.format == "json") {
      std::string text;
      JsonWriter w(&text);
      w.BeginObject();
      w.Key("model");
      w.String(model_);
      w.Key("outputs");
      w.BeginArray();
      for (const Buffered& b : buffered_) {
        if (b.is_error) {
          WriteErrorJson(b.error_id, b.error_code, b.error_message, &w);
        } else {
          WriteOutputJson(b.output, options_, &w);
        }
      }
      w.EndArray();
      w.EndObject();
      *env_.out << text << "\n";
    } else if (flags_.format == "table" && !model_.empty()) {
      *env_.out << "model: " << model_ << "\n";
    }
    env_.out->flush();
  }

 private:
  const EncodeFlags& flags_;
  CliEnv& env_;
  EncodeOutputOptions options_;
  std::string model_;
  // Format json: the outputs and per-input errors, in order.
  struct Buffered {
    bool is_error = false;
    v1::Output output;
    std::string error_id;
    int error_code = 0;
    std::string error_message;
  };
  std::vector<Buffered> buffered_;
};

void FillOptions(const EncodeFlags& f, v1::EncodeOptions* o) {
  o->set_pooling(PoolingFromName(f.pooling));
  if (f.normalize || f.no_normalize) o->set_normalize(f.normalize);
  o->set_return_token_vectors(f.token_vectors);
  for (int64_t l : f.hidden_states) o->add_hidden_state_layers(static_cast<int32_t>(l));
  for (int64_t l : f.attention_layers) o->mutable_attention()->add_layers(static_cast<int32_t>(l));
  for (int64_t h : f.attention_heads) o->mutable_attention()->add_heads(static_cast<int32_t>(h));
  o->set_truncation(f.truncate ? v1::TRUNCATION_TRUNCATE : v1::TRUNCATION_UNSPECIFIED);
  o->set_max_length(static_cast<int32_t>(f.max_length));
}

void AddTextInput(int64_t index, const std::string& text, const EncodeFlags& f, v1::EncodeRequest* request) {
  v1::Input* input = request->add_inputs();
  input->set_id(absl::StrCat(index));
  input->mutable_text()->set_text(text);
  if (f.has_pair) input->mutable_text()->set_text_pair(f.pair);
}

absl::Status EncodeBulk(const std::vector<std::string>& lines, const EncodeFlags& f, EncoderClient& client,
                        CliEnv& env) {
  OutputSink sink(f, env);
  ProgressBar progress(env.err, static_cast<int64_t>(lines.size()), "texts", env.stderr_is_tty);
  size_t next_line = 0;
  int64_t next_request = 0;
  int64_t done = 0;
  int64_t failed_requests = 0;
  auto next = [&](v1::EncodeStreamRequest* r) {
    if (next_line >= lines.size()) return false;
    r->set_request_id(absl::StrCat(next_request++));
    FillOptions(f, r->mutable_request()->mutable_options());
    for (int64_t i = 0; i < f.batch && next_line < lines.size(); ++i, ++next_line) {
      AddTextInput(static_cast<int64_t>(next_line), lines[next_line], f, r->mutable_request());
    }
    return true;
  };
  // Requests are built in order with `batch` lines each, so response k covers lines [k*batch, ...).
  int64_t expected_request = 0;
  bool malformed = false;
  auto on_response = [&](const v1::EncodeStreamResponse& r) {
    const int64_t first = expected_request * f.batch;
    const int64_t count = std::min<int64_t>(f.batch, static_cast<int64_t>(lines.size()) - first);
    if (r.request_id() != absl::StrCat(expected_request)) {
      *env.err << "qkv encode: response for request " << r.request_id() << " arrived where "
               << expected_request << " was expected\n";
      malformed = true;
    }
    ++expected_request;
    if (r.code() != 0) {
      ++failed_requests;
      *env.err << "qkv encode: lines " << first + 1 << "-" << first + count << ": "
               << absl::StatusCodeToString(static_cast<absl::StatusCode>(r.code())) << ": " << r.message()
               << "\n";
      for (int64_t i = 0; i < count; ++i) sink.AddError(first + i, lines[first + i], r.code(), r.message());
    } else {
      sink.SetModel(r.response().model());
      for (int i = 0; i < r.response().outputs_size(); ++i) {
        const v1::Output& o = r.response().outputs(i);
        if (absl::Status s = ValidateOutput(o); !s.ok()) {
          *env.err << "qkv encode: malformed response: " << s.message() << "\n";
          malformed = true;
          continue;
        }
        sink.Add(first + i, lines[first + i], o);
      }
    }
    done += count;
    progress.Update(done);
  };
  const absl::Status stream_status = client.EncodeStream(next, on_response, static_cast<int>(f.window));
  progress.Finish();
  QKV_RETURN_IF_ERROR(stream_status);
  sink.Finish();
  if (failed_requests > 0) {
    return ExitError(kExitRpcError,
                     absl::StrCat(failed_requests, " of ", expected_request, " requests failed"));
  }
  // The malformed responses were reported as they arrived.
  if (malformed) return Silent(ExitError(kExitRpcError, "malformed responses"));
  return absl::OkStatus();
}

// The command once its flags are parsed; `texts` are the positional arguments.
absl::Status RunEncode(Subcommand& cmd, std::vector<std::string> texts, EncodeFlags& f) {
  CliEnv& env = cmd.env();
  const FlagSet& flags = cmd.flags();
  f.has_ids = flags.IsSet("ids");
  f.has_pair = flags.IsSet("pair");

  // "-" as an argument means stdin, like --file -.
  bool bulk = flags.IsSet("file");
  for (auto it = texts.begin(); it != texts.end();) {
    if (*it == "-") {
      if (bulk) return UsageError("stdin given twice");
      bulk = true;
      f.file = "-";
      it = texts.erase(it);
    } else {
      ++it;
    }
  }
  if (bulk && (!texts.empty() || f.has_ids)) {
    return UsageError("--file / - cannot be combined with TEXT arguments or --ids");
  }
  if (!bulk && texts.empty() && !f.has_ids) {
    return UsageError("nothing to encode: give TEXT arguments, --ids or --file");
  }
  if (f.has_ids && f.ids.empty()) return UsageError("--ids is empty");
  if (f.normalize && f.no_normalize) {
    return UsageError("--normalize and --no-normalize contradict each other");
  }
  if (f.batch < 1 || f.window < 1) return UsageError("--batch and --window must be >= 1");
  if (f.max_length < 0) return UsageError("--max-length must be >= 0");
  for (int64_t id : f.ids) {
    if (id < 0 || id > INT32_MAX) return UsageError(absl::StrCat("--ids: id ", id, " out of range"));
  }

  // proto3 strings must be UTF-8; catch bad input here with a useful message.
  for (size_t i = 0; i < texts.size(); ++i) {
    if (!IsValidUtf8(texts[i])) return LocalError(absl::StrCat("TEXT ", i + 1, " is not valid UTF-8"));
  }
  if (!IsValidUtf8(f.pair)) return LocalError("--pair is not valid UTF-8");

  QKV_ASSIGN_OR_RETURN(std::unique_ptr<EncoderClient> client, cmd.Connect());

  if (bulk) {
    absl::StatusOr<std::vector<std::string>> lines;
    if (f.file == "-") {
      lines = ReadInputLines(*env.in, "stdin");
    } else {
      std::ifstream in(f.file);
      if (!in) return LocalError(absl::StrCat("cannot open ", f.file));
      lines = ReadInputLines(in, f.file);
    }
    if (!lines.ok()) return LocalError(lines.status().message());
    return EncodeBulk(*lines, f, *client, env);
  }

  v1::EncodeRequest request;
  FillOptions(f, request.mutable_options());
  std::vector<std::string> labels;
  int64_t index = 0;
  for (const std::string& text : texts) {
    AddTextInput(index++, text, f, &request);
    labels.push_back(absl::StrCat("\"", text, "\""));
  }
  if (f.has_ids) {
    v1::Input* input = request.add_inputs();
    input->set_id(absl::StrCat(index++));
    for (int64_t id : f.ids) input->mutable_ids()->add_ids(static_cast<int32_t>(id));
    labels.push_back("--ids");
  }
  v1::EncodeResponse response;
  QKV_RETURN_IF_ERROR(client->Encode(request, &response));
  if (response.outputs_size() != request.inputs_size()) {
    return absl::InternalError(absl::StrCat("malformed response: ", response.outputs_size(), " outputs for ",
                                            request.inputs_size(), " inputs"));
  }
  for (const v1::Output& o : response.outputs()) {
    if (absl::Status s = ValidateOutput(o); !s.ok()) {
      return absl::InternalError(absl::StrCat("malformed response: ", s.message()));
    }
  }
  OutputSink sink(f, env);
  sink.SetModel(response.model());
  for (int i = 0; i < response.outputs_size(); ++i) sink.Add(i, labels[i], response.outputs(i));
  sink.Finish();
  return absl::OkStatus();
}

}  // namespace

int RunEncodeCommand(const std::vector<std::string>& args, CliEnv& env) {
  Subcommand cmd(
      kCommand, "qkv encode [TEXT...] [--ids N,N,...] [--file FILE | -] [flags]",
      "Encodes texts (each argument is one sequence), pre-tokenized ids (--ids, sent as they are: include\n"
      "[CLS]/[SEP] yourself) or a file with one text per line (--file, or - for stdin; streamed over\n"
      "EncodeStream with a progress bar on a terminal). Prints pooled vectors, token vectors, hidden\n"
      "states and attention probabilities.",
      env);
  EncodeFlags f;
  FlagSet& flags = cmd.flags();
  flags.AddIntList("ids", &f.ids, "token ids of one sequence, e.g. 101,7592,102");
  flags.AddString("file", &f.file, "read one text per line from FILE (- = stdin)", "FILE");
  flags.AddString("pair", &f.pair, "second segment (token type 1) for every text", "TEXT");
  flags.AddChoice("pooling", &f.pooling, {"default", "cls", "mean", "pooler", "none"},
                  "pooled vector; default = the model's default");
  flags.AddBool("normalize", &f.normalize, "L2-normalize the pooled vector (default: the model's default)");
  flags.AddBool("no-normalize", &f.no_normalize, "do not L2-normalize, whatever the model's default");
  flags.AddBool("tokens", &f.tokens, "print the tokens of each sequence");
  flags.AddBool("token-vectors", &f.token_vectors, "return the final hidden state of every token [T, D]");
  flags.AddIntList("attention-layers", &f.attention_layers,
                   "attention probabilities of these layers, 0-based, -1 = last: [heads, T, T]");
  flags.AddIntList("attention-heads", &f.attention_heads, "only these heads (default: all)");
  flags.AddIntList("hidden-states", &f.hidden_states, "hidden states: 0 = embeddings, l = output of layer l");
  flags.AddInt("max-length", &f.max_length, "length limit in tokens (0 = the model's maximum)");
  flags.AddBool("truncate", &f.truncate, "cut over-long inputs instead of failing");
  flags.AddChoice("format", &f.format, {"table", "json", "jsonl"}, "output format");
  flags.AddInt("batch", &f.batch, "bulk input: texts per streamed request");
  flags.AddInt("window", &f.window, "bulk input: streamed requests in flight");
  return cmd.Run(args, [&](std::vector<std::string> texts) { return RunEncode(cmd, std::move(texts), f); });
}

}  // namespace qkv
