// The qkv command line: the process environment a subcommand sees, the global flags every subcommand
// accepts, the exit codes, and the dispatcher.
//
// Exit codes (documented in `qkv --help` and docs/cli.md):
//   0  success (`qkv health`: the server is SERVING)
//   1  an RPC failed (the gRPC code name and message are printed), or some requests of a bulk encode failed
//   2  usage error: unknown subcommand or flag, bad flag value, missing argument
//   3  local error: an input file cannot be read, an output file cannot be written, bad local input
//   4  `qkv health`: the server answered but is not SERVING (NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN)
//   5  the server refused the call as UNAUTHENTICATED (no bearer token, or not one it accepts)
#ifndef QKV_CLIENT_CLI_H_
#define QKV_CLIENT_CLI_H_

#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
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

// Flags shared by every subcommand.
struct GlobalOptions {
  std::string target;  // empty = CliEnv::default_target
  absl::Duration timeout = absl::Seconds(30);
  bool tls = false;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  int64_t retries = 3;          // extra attempts on UNAVAILABLE
  std::string auth_token_file;  // file holding the bearer token; empty = CliEnv::auth_token
};

// Adds --target, --timeout, --tls, --tls-ca, --tls-cert, --tls-key, --tls-server-name, --retries,
// --auth-token-file.
void AddGlobalFlags(FlagSet* flags, GlobalOptions* options);

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

// Helpers for subcommands.

// Parses the flags of `command`. Returns -1 to go on; otherwise the exit code to return at once (0 after
// printing --help to env.out, kExitUsage after printing the error and a hint to env.err).
int ParseCommandFlags(const std::string& command, FlagSet& flags, const std::vector<std::string>& args,
                      std::vector<std::string>* positional, CliEnv& env);
// Prints "qkv <command>: <message>" plus a --help hint to env.err and returns kExitUsage.
int UsageError(const std::string& command, const std::string& message, CliEnv& env);
// Prints "qkv <command>: CODE: message" to env.err and returns kExitRpcError; for UNAUTHENTICATED adds a
// hint about --auth-token-file / QKV_AUTH_TOKEN and returns kExitUnauthenticated.
int RpcError(const std::string& command, const grpc::Status& status, CliEnv& env);
// Prints "qkv <command>: message" to env.err and returns kExitLocalError.
int LocalError(const std::string& command, const std::string& message, CliEnv& env);

// Builds the client from the global flags; on failure prints the error and sets *exit_code.
std::unique_ptr<EncoderClient> MakeClient(const std::string& command, const GlobalOptions& options,
                                          CliEnv& env, int* exit_code);

}  // namespace qkv

#endif  // QKV_CLIENT_CLI_H_
