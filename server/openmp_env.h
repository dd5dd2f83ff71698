// OpenMP (libgomp) settings that qkv-server needs before the runtime starts.
//
// oneDNN runs on OpenMP. libgomp's default barrier spins about 300k iterations before sleeping; when the
// cores are shared (other processes, a Kubernetes CPU limit) a spinning thread burns the time its partner
// needs, and a 0.1 ms batch can take 30 ms. A spin count of 1000 keeps the idle-machine speed (within
// noise on the bench models) and stays fast under contention (bench/README.md has the figures).
// libgomp reads its environment once, when it is loaded, before main() runs: so the setting has to be in
// the environment of the process, and the server re-executes itself once to put it there.
#ifndef QKV_SERVER_OPENMP_ENV_H_
#define QKV_SERVER_OPENMP_ENV_H_

namespace qkv {

// The GOMP_SPINCOUNT qkv-server runs with unless the user set GOMP_SPINCOUNT or OMP_WAIT_POLICY.
inline constexpr char kDefaultGompSpinCount[] = "1000";

// When neither GOMP_SPINCOUNT nor OMP_WAIT_POLICY is set: sets GOMP_SPINCOUNT=kDefaultGompSpinCount and
// re-executes /proc/self/exe with the same argv (does not return on success). Otherwise, or when the
// re-execution fails, returns and the process goes on with libgomp's defaults.
// REQUIRES: called first thing in main(), before any thread starts.
void ReexecWithOpenMpDefaults(char** argv);

}  // namespace qkv

#endif  // QKV_SERVER_OPENMP_ENV_H_
