// The qkv command line: the process environment a subcommand sees, the exit codes, the Subcommand helper
// every command is built on (its flags, the connection flags, parsing, the client) and the dispatcher.
//
// Exit codes (documented in `qkv --help` and docs/cli.md):
//   0  success (`qkv health`: the server is SERVING)
//   1  an RPC failed (the gRPC code name and message are printed), or some requests of a bulk encode failed
//   2  usage error: unknown subcommand or flag, bad flag value, missing argument
//   3  local error: an input file cannot be read, an output file cannot be written, bad local input
//   4  `qkv health`: the server answered but is not SERVING (NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN)
//   5  the server refused the call as UNAUTHENTICATED (no bearer token, or not one it accepts)
//
// Errors travel as absl::Status up to Subcommand::Run, which prints them and maps them to an exit code: a
// status made by UsageError, LocalError or ExitError carries its exit code (a payload); any other error is
// an RPC's status (exit 1, printed as "CODE: message"; exit 5 with a hint about the token for
// UNAUTHENTICATED).
#ifndef QKV_CLIENT_CLI_H_
#define QKV_CLIENT_CLI_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/encoder_client.h"
#include "client/flags.h"

namespace qkv {

enum ExitCode : int {
  kExitOk = 0,
  kExitRpcError = 1,
  kExitUsage = 2,
  kExitLocalError = 3,
  kExitNotServing = 4,
  kExitUnauthenticated = 5,
};

// What a subcommand may touch. Tests substitute string streams.
struct CliEnv {
  std::istream* in = nullptr;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  bool stdout_is_tty = false;
  bool stderr_is_tty = false;
  bool no_color = false;                           // NO_COLOR is set (https://no-color.org)
  std::string default_target = "localhost:50051";  // QKV_TARGET when set
  std::string auth_token;                          // QKV_AUTH_TOKEN: the bearer token itself

  // std::cin/cout/cerr, isatty() of fds 1 and 2, NO_COLOR, QKV_TARGET and QKV_AUTH_TOKEN from the
  // environment.
  static CliEnv FromProcess();
};

// InvalidArgument that ends the command with kExitUsage, printed with a hint to run --help.
absl::Status UsageError(absl::string_view message);
// FailedPrecondition that ends the command with kExitLocalError (files, local input).
absl::Status LocalError(absl::string_view message);
// An error that ends the command with `code`, printed as "qkv <command>: message".
absl::Status ExitError(ExitCode code, absl::string_view message);
// `status` (an error), ending the command with the same exit code but printing nothing.
absl::Status Silent(absl::Status status);
// The exit code `status` ends a command with: 0 for OK, the code it carries, else kExitRpcError.
ExitCode ExitCodeOf(const absl::Status& status);

// One subcommand: its flags followed by the connection flags every command shares (--target, --timeout,
// --tls, --tls-ca, --tls-cert, --tls-key, --tls-server-name, --retries, --auth-token-file), parsed into
// ClientOptions.
//
//   Subcommand cmd("info", "qkv info [flags]", "Describes the served model.", env);
//   cmd.flags().AddChoice("format", &format, {"table", "json"}, "output format");
//   return cmd.Run(args, [&](const std::vector<std::string>& positional) -> absl::Status {
//     QKV_ASSIGN_OR_RETURN(std::unique_ptr<EncoderClient> client, cmd.Connect());
//     ...
//   });
//
// Not thread-safe; `env` must outlive the Subcommand.
class Subcommand {
 public:
  Subcommand(std::string name, std::string usage, std::string description, CliEnv& env);

  // Add the command's own flags here before Run.
  FlagSet& flags() { return flags_; }
  // The connection settings; a command may change their defaults before Run (health: a 5 s timeout).
  ClientOptions& client_options() { return client_options_; }
  CliEnv& env() { return env_; }

  using Body = std::function<absl::Status(const std::vector<std::string>& positional)>;
  // Adds the connection flags and parses `args` (argv after the subcommand). --help prints the help to
  // env.out (exit 0); a flag error is a usage error. Otherwise runs `body` with the positional arguments.
  // Prints the error, if any, to env.err and returns the exit code.
  int Run(const std::vector<std::string>& args, const Body& body);

  // A client for the connection flags (the target defaults to env.default_target; the bearer token is
  // read from --auth-token-file, else taken from env.auth_token). UsageError for bad values, LocalError
  // when a TLS or token file cannot be read or the token file holds no usable token.
  absl::StatusOr<std::unique_ptr<EncoderClient>> Connect() const;

 private:
  // Prints `status` to env.err in the form its exit code calls for; returns that exit code.
  int Report(const absl::Status& status) const;

  const std::string name_;
  CliEnv& env_;
  FlagSet flags_;
  ClientOptions client_options_;
  int64_t retries_ = 3;          // --retries: extra attempts on UNAVAILABLE, [0, 4]
  std::string auth_token_file_;  // --auth-token-file; empty = env.auth_token ($QKV_AUTH_TOKEN)
};

// A subcommand's entry point: `args` excludes "qkv" and the subcommand name.
using CommandFn = int (*)(const std::vector<std::string>& args, CliEnv& env);

int RunEncodeCommand(const std::vector<std::string>& args, CliEnv& env);
int RunTokenizeCommand(const std::vector<std::string>& args, CliEnv& env);
int RunInfoCommand(const std::vector<std::string>& args, CliEnv& env);
int RunHealthCommand(const std::vector<std::string>& args, CliEnv& env);
int RunAttentionCommand(const std::vector<std::string>& args, CliEnv& env);
int RunBenchCommand(const std::vector<std::string>& args, CliEnv& env);

// Dispatches `args` (argv without the program name) to a subcommand and returns the exit code.
int RunCli(const std::vector<std::string>& args, CliEnv& env);

}  // namespace qkv

#endif  // QKV_CLIENT_CLI_H_
