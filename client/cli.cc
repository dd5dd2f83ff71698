#include "client/cli.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "qkv_version.h"

namespace qkv {
namespace {

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

void AddGlobalFlags(FlagSet* flags, GlobalOptions* options) {
  flags->AddString("target", &options->target,
                   "server address: host:port, dns:///host:port, ipv4:a:p,b:p (round_robin), unix:/path; "
                   "default $QKV_TARGET or localhost:50051",
                   "ADDR");
  flags->AddDuration("timeout", &options->timeout, "deadline of each call");
  flags->AddBool("tls", &options->tls, "use TLS with the system roots (implied by the --tls-* flags)");
  flags->AddString("tls-ca", &options->tls_ca, "PEM CA certificates to verify the server with", "FILE");
  flags->AddString("tls-cert", &options->tls_cert, "PEM client certificate (mTLS); needs --tls-key", "FILE");
  flags->AddString("tls-key", &options->tls_key, "PEM private key of --tls-cert", "FILE");
  flags->AddString("tls-server-name", &options->tls_server_name,
                   "name expected in the server certificate (when the target is an IP address)", "NAME");
  flags->AddInt("retries", &options->retries, "extra attempts when the server is UNAVAILABLE (0-4)");
  flags->AddString("auth-token-file", &options->auth_token_file,
                   "file holding the bearer token to send on every call (default: the token in "
                   "$QKV_AUTH_TOKEN)",
                   "FILE");
}

int UsageError(const std::string& command, const std::string& message, CliEnv& env) {
  *env.err << "qkv " << command << ": " << message << "\nRun 'qkv " << command << " --help' for usage.\n";
  return kExitUsage;
}

int RpcError(const std::string& command, const grpc::Status& status, CliEnv& env) {
  *env.err << "qkv " << command << ": " << FormatStatus(status) << "\n";
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    *env.err << "qkv " << command
             << ": the server needs a bearer token it accepts: pass --auth-token-file FILE or set "
                "QKV_AUTH_TOKEN\n";
    return kExitUnauthenticated;
  }
  return kExitRpcError;
}

int LocalError(const std::string& command, const std::string& message, CliEnv& env) {
  *env.err << "qkv " << command << ": " << message << "\n";
  return kExitLocalError;
}

int ParseCommandFlags(const std::string& command, FlagSet& flags, const std::vector<std::string>& args,
                      std::vector<std::string>* positional, CliEnv& env) {
  absl::Status s = flags.Parse(args, positional);
  if (!s.ok()) return UsageError(command, std::string(s.message()), env);
  if (flags.help_requested()) {
    *env.out << flags.Help();
    return kExitOk;
  }
  return -1;
}

std::unique_ptr<EncoderClient> MakeClient(const std::string& command, const GlobalOptions& options,
                                          CliEnv& env, int* exit_code) {
  ClientOptions client_options;
  client_options.target = options.target.empty() ? env.default_target : options.target;
  client_options.timeout = options.timeout;
  client_options.tls.enabled = options.tls;
  client_options.tls.ca_file = options.tls_ca;
  client_options.tls.cert_file = options.tls_cert;
  client_options.tls.key_file = options.tls_key;
  client_options.tls.server_name = options.tls_server_name;
  if (options.retries < 0 || options.retries > 4) {
    *exit_code = UsageError(command, absl::StrCat("--retries must be in [0, 4], got ", options.retries), env);
    return nullptr;
  }
  client_options.max_attempts = static_cast<int>(options.retries) + 1;
  if (!options.auth_token_file.empty()) {
    absl::StatusOr<std::string> token = ReadAuthTokenFile(options.auth_token_file);
    if (!token.ok()) {
      *exit_code = LocalError(command, absl::StrCat("--auth-token-file: ", token.status().message()), env);
      return nullptr;
    }
    client_options.auth_token = *std::move(token);
  } else {
    client_options.auth_token = std::string(absl::StripAsciiWhitespace(env.auth_token));
  }
  if (absl::Status s = client_options.Validate(); !s.ok()) {
    *exit_code = UsageError(command, std::string(s.message()), env);
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<EncoderClient>> client = EncoderClient::Create(client_options);
  if (!client.ok()) {
    *exit_code = LocalError(command, std::string(client.status().message()), env);
    return nullptr;
  }
  return *std::move(client);
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
