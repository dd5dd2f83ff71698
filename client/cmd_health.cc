// qkv health: grpc.health.v1.Health/Check. Exit 0 only when SERVING, so it works as a container
// HEALTHCHECK and a Kubernetes exec probe; 4 when the server answers with another status, 1 when the call
// fails (no server, deadline, TLS, unknown service = NOT_FOUND).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/cli.h"
#include "common/status_macros.h"

namespace qkv {

int RunHealthCommand(const std::vector<std::string>& args, CliEnv& env) {
  Subcommand cmd(
      "health", "qkv health [flags]",
      "Checks the server's health (grpc.health.v1). Prints the serving status; exit code 0 only when\n"
      "SERVING, 4 when the server reports another status, 1 when the check itself fails.",
      env);
  cmd.client_options().timeout = absl::Seconds(5);
  // The check must reach a server that is loading or draining to report it.
  cmd.client_options().health_check = false;
  std::string service;
  bool quiet = false;
  cmd.flags().AddString("service", &service,
                        "service to check; empty = the whole server (e.g. qkv.v1.EncoderService)", "NAME");
  cmd.flags().AddBool("quiet", &quiet, "print nothing; only the exit code tells");
  return cmd.Run(args, [&](const std::vector<std::string>& positional) -> absl::Status {
    if (!positional.empty()) return UsageError(absl::StrCat("unexpected argument ", positional[0]));
    QKV_ASSIGN_OR_RETURN(std::unique_ptr<EncoderClient> client, cmd.Connect());
    grpc::health::v1::HealthCheckResponse response;
    if (absl::Status s = client->CheckHealth(service, &response); !s.ok()) return quiet ? Silent(s) : s;
    const std::string name = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
    if (!quiet) *env.out << name << "\n";
    if (response.status() == grpc::health::v1::HealthCheckResponse::SERVING) return absl::OkStatus();
    return Silent(ExitError(kExitNotServing, name));
  });
}

}  // namespace qkv
