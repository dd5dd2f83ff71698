// qkv: the command-line client of qkv-server. Everything but process setup lives in qkv_client_lib.
#include <string>
#include <vector>

#include "client/cli.h"

int main(int argc, char** argv) {
  qkv::CliEnv env = qkv::CliEnv::FromProcess();
  return qkv::RunCli(std::vector<std::string>(argv + 1, argv + argc), env);
}
