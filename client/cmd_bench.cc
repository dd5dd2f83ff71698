// qkv bench: a perf_analyzer-style load generator (throughput, latency percentiles, the client / queue /
// compute split from the responses' timing, status-code histogram), text or --json.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/bench_runner.h"
#include "client/cli.h"
#include "client/progress.h"
#include "common/status_macros.h"

namespace qkv {

int RunBenchCommand(const std::vector<std::string>& args, CliEnv& env) {
  Subcommand cmd(
      "bench",
      "qkv bench [--concurrency N] [--requests N | --duration D] [--seq-len L] [--batch B] [--rate QPS]"
      " [--json]",
      "Sends Encode calls of B random sequences of L tokens from N concurrent workers (closed loop, or\n"
      "open loop at --rate requests/s) and reports throughput, p50/p90/p95/p99/max latency, the\n"
      "client/queue/compute split from the server's timing, and a histogram of status codes.\n"
      "Exit code 0 when at least one request succeeded, 1 when none did.",
      env);
  BenchOptions options;
  bool json = false;
  int64_t seed = 1;
  FlagSet& flags = cmd.flags();
  flags.AddInt("concurrency", &options.concurrency, "concurrent workers (requests in flight)");
  flags.AddInt("requests", &options.requests, "stop after this many requests (default: run for --duration)");
  flags.AddDuration("duration", &options.duration, "run this long when --requests is not given");
  flags.AddInt("seq-len", &options.seq_len, "tokens per sequence, [CLS] and [SEP] included");
  flags.AddInt("batch", &options.batch, "sequences per request");
  flags.AddDouble("rate", &options.rate, "target requests/s overall (open loop); 0 = closed loop");
  flags.AddInt("warmup", &options.warmup, "requests sent first and not counted");
  flags.AddInt("seed", &seed, "seed of the random token ids");
  flags.AddBool("token-vectors", &options.token_vectors, "also return [T, D] token vectors");
  flags.AddBool("json", &json, "print the report as one JSON object");
  return cmd.Run(args, [&](const std::vector<std::string>& positional) -> absl::Status {
    if (!positional.empty()) return UsageError(absl::StrCat("unexpected argument ", positional[0]));
    if (flags.IsSet("requests") && flags.IsSet("duration")) {
      return UsageError("give --requests or --duration, not both");
    }
    if (flags.IsSet("requests") && options.requests < 1) return UsageError("--requests must be >= 1");
    options.seed = static_cast<uint64_t>(seed);
    if (absl::Status s = options.Validate(); !s.ok()) return UsageError(s.message());

    QKV_ASSIGN_OR_RETURN(std::unique_ptr<EncoderClient> client, cmd.Connect());
    v1::GetModelInfoResponse info;
    QKV_RETURN_IF_ERROR(client->GetModelInfo(&info));
    if (options.seq_len > info.architecture().max_position_embeddings()) {
      return UsageError(absl::StrCat("--seq-len ", options.seq_len, " exceeds the model's ",
                                     info.architecture().max_position_embeddings(), " positions"));
    }
    BenchModel model;
    model.vocab_size = info.architecture().vocab_size();
    model.cls = info.special_tokens().cls();
    model.sep = info.special_tokens().sep();
    if (model.vocab_size <= 0) return absl::InternalError("model info reports no vocabulary");

    BenchConfig config;
    config.target = client->options().target;
    config.model = info.model();
    config.concurrency = options.concurrency;
    config.requests = options.requests;
    config.duration_s = options.requests > 0 ? 0 : absl::ToDoubleSeconds(options.duration);
    config.seq_len = options.seq_len;
    config.batch = options.batch;
    config.rate = options.rate;
    config.warmup = options.warmup;

    BenchResult result;
    {
      ProgressBar progress(env.err, options.requests, "requests", env.stderr_is_tty);
      result = RunBench(*client, options, model, [&progress](int64_t done) { progress.Update(done); });
    }
    *env.out << (json ? FormatBenchJson(config, result) : FormatBenchText(config, result));
    if (result.succeeded == 0) return ExitError(kExitRpcError, "no request succeeded");
    return absl::OkStatus();
  });
}

}  // namespace qkv
