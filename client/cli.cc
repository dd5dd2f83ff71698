#include "client/cli.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "absl/strings/strip.h"
#include "qkv_version.h"

namespace qkv {
namespace {

// Status payloads that carry how a subcommand's error ends the process.
constexpr char kExitCodeUrl[] = "type.qkv.dev/cli.ExitCode";  // the exit code, in decimal
constexpr char kSilentUrl[] = "type.qkv.dev/cli.Silent";      // print nothing

absl::StatusCode StatusCodeFor(ExitCode code) {
  switch (code) {
    case kExitUsage:
      return absl::StatusCode::kInvalidArgument;
    case kExitLocalError:
      return absl::StatusCode::kFailedPrecondition;
    case kExitUnauthenticated:
      return absl::StatusCode::kUnauthenticated;
    default:
      return absl::StatusCode::kUnknown;
  }
}

struct Command {
  const char* name;
  CommandFn fn;
  const char* summary;
};

constexpr Command kCommands[] = {
    {"encode", RunEncodeCommand, "encode texts or token ids: pooled vectors, token vectors, attention"},
    {"tokenize", RunTokenizeCommand, "show the model's word pieces and ids for a text"},
    {"info", RunInfoCommand, "describe the served model and the server's limits"},
    {"health", RunHealthCommand, "grpc.health.v1 check; exit 0 only when SERVING (for probes)"},
    {"attention", RunAttentionCommand, "attention heatmap of one layer: SVG file or terminal"},
    {"bench", RunBenchCommand, "load generator: throughput, latency percentiles, status codes"},
};

std::string MainHelp() {
  std::string out =
      "qkv: command-line client of qkv-server (qkv.v1.EncoderService)\n\n"
      "Usage: qkv <command> [args] [flags]\n       qkv --version\n\nCommands:\n";
  for (const Command& c : kCommands)
    absl::StrAppend(&out, "  ", c.name, std::string(11 - std::string(c.name).size(), ' '), c.summary, "\n");
  absl::StrAppend(
      &out,
      "\nGlobal flags (every command): --target (env QKV_TARGET, default localhost:50051), --timeout,\n"
      "  --tls, --tls-ca, --tls-cert, --tls-key, --tls-server-name, --retries,\n"
      "  --auth-token-file (default: the token in env QKV_AUTH_TOKEN).\n"
      "Run 'qkv <command> --help' for the flags of a command.\n\n"
      "Exit codes: 0 success; 1 RPC failed; 2 usage error; 3 local error (files, input);\n"
      "  4 health: server not SERVING; 5 UNAUTHENTICATED: missing or wrong auth token.\n");
  return out;
}

}  // namespace

CliEnv CliEnv::FromProcess() {
  CliEnv env;
  env.in = &std::cin;
  env.out = &std::cout;
  env.err = &std::cerr;
  env.stdout_is_tty = isatty(STDOUT_FILENO) == 1;
  env.stderr_is_tty = isatty(STDERR_FILENO) == 1;
  const char* no_color = std::getenv("NO_COLOR");
  env.no_color = no_color != nullptr && no_color[0] != '\0';
  const char* target = std::getenv("QKV_TARGET");
  if (target != nullptr && target[0] != '\0') env.default_target = target;
  const char* token = std::getenv("QKV_AUTH_TOKEN");
  if (token != nullptr) env.auth_token = token;
  return env;
}

absl::Status UsageError(absl::string_view message) { return ExitError(kExitUsage, message); }

absl::Status LocalError(absl::string_view message) { return ExitError(kExitLocalError, message); }

absl::Status ExitError(ExitCode code, absl::string_view message) {
  absl::Status status(StatusCodeFor(code), message);
  status.SetPayload(kExitCodeUrl, absl::Cord(absl::StrCat(static_cast<int>(code))));
  return status;
}

absl::Status Silent(absl::Status status) {
  status.SetPayload(kSilentUrl, absl::Cord());
  return status;
}

ExitCode ExitCodeOf(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  const absl::optional<absl::Cord> code = status.GetPayload(kExitCodeUrl);
  int value = kExitRpcError;
  if (code.has_value() && absl::SimpleAtoi(std::string(*code), &value)) return static_cast<ExitCode>(value);
  if (absl::IsUnauthenticated(status)) return kExitUnauthenticated;  // an RPC refused for its token
  return kExitRpcError;
}

Subcommand::Subcommand(std::string name, std::string usage, std::string description, CliEnv& env)
    : name_(std::move(name)), env_(env), flags_(std::move(usage), std::move(description)) {
  client_options_.target.clear();  // empty = env.default_target ($QKV_TARGET or localhost:50051)
}

int Subcommand::Run(const std::vector<std::string>& args, const Body& body) {
  ClientOptions& o = client_options_;
  flags_.AddString("target", &o.target,
                   "server address: host:port, dns:///host:port, ipv4:a:p,b:p (round_robin), unix:/path; "
                   "default $QKV_TARGET or localhost:50051",
                   "ADDR");
  flags_.AddDuration("timeout", &o.timeout, "deadline of each call");
  flags_.AddBool("tls", &o.tls.enabled, "use TLS with the system roots (implied by the --tls-* flags)");
  flags_.AddString("tls-ca", &o.tls.ca_file, "PEM CA certificates to verify the server with", "FILE");
  flags_.AddString("tls-cert", &o.tls.cert_file, "PEM client certificate (mTLS); needs --tls-key", "FILE");
  flags_.AddString("tls-key", &o.tls.key_file, "PEM private key of --tls-cert", "FILE");
  flags_.AddString("tls-server-name", &o.tls.server_name,
                   "name expected in the server certificate (when the target is an IP address)", "NAME");
  flags_.AddInt("retries", &retries_, "extra attempts when the server is UNAVAILABLE (0-4)");
  flags_.AddString("auth-token-file", &auth_token_file_,
                   "file holding the bearer token to send on every call (default: the token in "
                   "$QKV_AUTH_TOKEN)",
                   "FILE");

  std::vector<std::string> positional;
  if (absl::Status s = flags_.Parse(args, &positional); !s.ok()) return Report(UsageError(s.message()));
  if (flags_.help_requested()) {
    *env_.out << flags_.Help();
    return kExitOk;
  }
  return Report(body(positional));
}

absl::StatusOr<std::unique_ptr<EncoderClient>> Subcommand::Connect() const {
  ClientOptions options = client_options_;
  if (options.target.empty()) options.target = env_.default_target;
  if (retries_ < 0 || retries_ > 4)
    return UsageError(absl::StrCat("--retries must be in [0, 4], got ", retries_));
  options.max_attempts = static_cast<int>(retries_) + 1;
  if (!auth_token_file_.empty()) {
    absl::StatusOr<std::string> token = ReadAuthTokenFile(auth_token_file_);
    if (!token.ok()) return LocalError(absl::StrCat("--auth-token-file: ", token.status().message()));
    options.auth_token = *std::move(token);
  } else {
    options.auth_token = std::string(absl::StripAsciiWhitespace(env_.auth_token));
  }
  if (absl::Status s = options.Validate(); !s.ok()) return UsageError(s.message());
  absl::StatusOr<std::unique_ptr<EncoderClient>> client = EncoderClient::Create(options);
  if (!client.ok()) return LocalError(client.status().message());
  return client;
}

int Subcommand::Report(const absl::Status& status) const {
  const ExitCode code = ExitCodeOf(status);
  if (status.ok() || status.GetPayload(kSilentUrl).has_value()) return code;
  if (!status.GetPayload(kExitCodeUrl).has_value()) {  // an RPC's status
    *env_.err << "qkv " << name_ << ": " << FormatStatus(status) << "\n";
    if (code == kExitUnauthenticated) {
      *env_.err << "qkv " << name_
                << ": the server needs a bearer token it accepts: pass --auth-token-file FILE or set "
                   "QKV_AUTH_TOKEN\n";
    }
  } else {
    *env_.err << "qkv " << name_ << ": " << status.message() << "\n";
    if (code == kExitUsage) *env_.err << "Run 'qkv " << name_ << " --help' for usage.\n";
  }
  return code;
}

int RunCli(const std::vector<std::string>& args, CliEnv& env) {
  if (args.empty()) {
    *env.err << MainHelp();
    return kExitUsage;
  }
  const std::string& name = args[0];
  if (name == "--help" || name == "-h" || name == "help") {
    *env.out << MainHelp();
    return kExitOk;
  }
  if (name == "--version" || name == "version") {
    *env.out << "qkv " << kQkvVersion << "\n";
    return kExitOk;
  }
  for (const Command& c : kCommands) {
    if (name == c.name) return c.fn(std::vector<std::string>(args.begin() + 1, args.end()), env);
  }
  *env.err << "qkv: unknown command \"" << name << "\"\n\n" << MainHelp();
  return kExitUsage;
}

}  // namespace qkv
