#include "server/openmp_env.h"

#include <unistd.h>

#include <cstdlib>

namespace qkv {

void ReexecWithOpenMpDefaults(char** argv) {
  if (std::getenv("GOMP_SPINCOUNT") != nullptr || std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (::setenv("GOMP_SPINCOUNT", kDefaultGompSpinCount, /*overwrite=*/1) != 0) return;
  ::execv("/proc/self/exe", argv);
  // Still here: exec failed (no /proc, say). Carry on with the defaults libgomp already read.
}

}  // namespace qkv
