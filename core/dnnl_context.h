// oneDNN plumbing shared by the core ops: the CPU engine, 64-byte aligned scratch buffers, the per-thread
// execution context (stream + user scratchpad), and dnnl::error -> absl::Status conversion.
//
// Every op in core builds its primitives with scratchpad_mode::user, so that one primitive object may run
// from several threads at once, each with its own ExecContext (oneDNN's library-mode scratchpad is not safe
// for that; see notes/toolchain.md P6).
#ifndef QKV_CORE_DNNL_CONTEXT_H_
#define QKV_CORE_DNNL_CONTEXT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace qkv {

// The process-wide CPU engine. Thread-safe; created on first use.
const dnnl::engine& CpuEngine();

// A growable, 64-byte aligned, zero-initialised float buffer. Growing discards the old contents.
// Not thread-safe.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  // Ensures room for `num_floats` floats. Contents are unspecified (zero after a reallocation).
  void Reserve(int64_t num_floats);
  float* data() const { return data_.get(); }
  int64_t capacity() const { return capacity_; }

 private:
  struct Free {
    void operator()(float* p) const;
  };
  std::unique_ptr<float[], Free> data_;
  int64_t capacity_ = 0;
};

// Per-thread execution state: the stream every primitive runs on, the user scratchpad, the memory objects
// that wrap per-call pointers (reused from call to call), and buffers for low-precision copies of
// activations. Not thread-safe: one ExecContext per thread (an Encoder Workspace owns one).
class ExecContext {
 public:
  ExecContext();

  dnnl::stream& stream() { return stream_; }
  // This context's scratchpad, grown to at least `bytes`.
  void* ScratchpadData(size_t bytes);
  // The memory objects this context keeps for the primitive entry with id `entry_id` (empty the first time;
  // the caller fills it). Stable until the context is destroyed.
  std::vector<dnnl::memory>& BoundMemories(uint64_t entry_id) { return bound_[entry_id]; }

  // Scratch for an op's low-precision copy of its input (s8 or bf16 rows) and its per-row scales. Contents
  // are only meaningful within one op call.
  AlignedBuffer& converted_input() { return converted_input_; }
  AlignedBuffer& row_scales() { return row_scales_; }

 private:
  dnnl::stream stream_;
  AlignedBuffer scratchpad_;
  AlignedBuffer converted_input_;
  AlignedBuffer row_scales_;
  absl::flat_hash_map<uint64_t, std::vector<dnnl::memory>> bound_;
};

// oneDNN here runs on OpenMP, and every primitive splits its work across the calling thread's OpenMP team.
// Waking the team costs microseconds (far more when another process holds a core), which dominates ops of a
// few hundred thousand FLOPs. Ops therefore run such small work on the calling thread alone:
//
//   ScopedThreadLimit single(work < kParallelMinFlops);   // inside: ThreadCount() == 1
//
// Some kernels fix their thread count when their primitive is built, so caches key primitives by
// ThreadCount() as well as by shape.
inline constexpr double kParallelMinFlops = 2e6;

// The OpenMP team size primitives built or run now on this thread get.
int ThreadCount();

// Limits the calling thread's OpenMP team to one thread in its scope when `single` is true.
class ScopedThreadLimit {
 public:
  explicit ScopedThreadLimit(bool single);
  ~ScopedThreadLimit();
  ScopedThreadLimit(const ScopedThreadLimit&) = delete;
  ScopedThreadLimit& operator=(const ScopedThreadLimit&) = delete;

 private:
  int saved_ = 0;  // 0: nothing to restore
};

// A memory object over caller-owned data (no copy). `data` must outlive the use of the result.
inline dnnl::memory WrapMemory(const dnnl::memory::desc& md, const float* data) {
  return dnnl::memory(md, CpuEngine(), const_cast<float*>(data));
}

// A plain row-major f32 descriptor.
dnnl::memory::desc PlainDesc(const dnnl::memory::dims& dims);

// Internal(...) naming `what`, with oneDNN's message and status code.
absl::Status DnnlErrorToStatus(const dnnl::error& e, const std::string& what);

}  // namespace qkv

#endif  // QKV_CORE_DNNL_CONTEXT_H_
