// qkv health: grpc.health.v1.Health/Check. Exit 0 only when SERVING, so it works as a container
// HEALTHCHECK and a Kubernetes exec probe; 4 when the server answers with another status, 1 when the call
// fails (no server, deadline, TLS, unknown service = NOT_FOUND).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/cli.h"

namespace qkv {
namespace {

constexpr char kCommand[] = "health";

}  // namespace

int RunHealthCommand(const std::vector<std::string>& args, CliEnv& env) {
  FlagSet flags(
      "qkv health [flags]",
      "Checks the server's health (grpc.health.v1). Prints the serving status; exit code 0 only when\n"
      "SERVING, 4 when the server reports another status, 1 when the check itself fails.");
  GlobalOptions global;
  global.timeout = absl::Seconds(5);
  std::string service;
  bool quiet = false;
  flags.AddString("service", &service,
                  "service to check; empty = the whole server (e.g. qkv.v1.EncoderService)", "NAME");
  flags.AddBool("quiet", &quiet, "print nothing; only the exit code tells");
  AddGlobalFlags(&flags, &global);
  std::vector<std::string> positional;
  if (int code = ParseCommandFlags(kCommand, flags, args, &positional, env); code >= 0) return code;
  if (!positional.empty())
    return UsageError(kCommand, absl::StrCat("unexpected argument ", positional[0]), env);
  int exit_code = kExitOk;
  std::unique_ptr<EncoderClient> client = MakeClient(kCommand, global, env, &exit_code);
  if (client == nullptr) return exit_code;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = client->CheckHealth(service, &response);
  if (!status.ok()) {
    if (quiet) return kExitRpcError;
    return RpcError(kCommand, status, env);
  }
  const std::string name = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
  if (!quiet) *env.out << name << "\n";
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? kExitOk : kExitNotServing;
}

}  // namespace qkv
