// PrimitiveTable: oneDNN primitives built once per shape key at load and read without a lock afterwards,
// plus the row-chunking rule that keeps the number of distinct shapes small.
//
// oneDNN 2.6 only picks its fast kernels (brgemm) for concrete shapes; a runtime M with fused post-ops
// falls back to the reference kernel. So ops build one primitive per concrete row count. To bound how many
// they build, a batch of M rows is cut into chunks whose sizes come from a fixed set (1, 2, 4, 8, then
// multiples of 16 up to 256, then powers of two); only the last chunk may be padded, by fewer than 16 rows.
//
// Lifecycle: an op fills its table while it is being built (GetOrCreate from one thread), then calls Seal().
// After Seal() the table is immutable and Find()/GetOrCreate() read it with no lock, from any number of
// threads. A key the load did not foresee (e.g. a caller that changed its OpenMP team size) is built into a
// separate overflow map under a mutex; that path only runs for such keys.
//
// Entries are never removed, so a returned reference stays valid for the table's lifetime.
#ifndef QKV_CORE_PRIMITIVE_CACHE_H_
#define QKV_CORE_PRIMITIVE_CACHE_H_

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "core/dnnl_context.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace qkv {

// A built primitive and what executing it needs. Arguments that change per call (activations) are bound to
// memory descriptors fixed at build time and passed as raw pointers; the memory objects that wrap them live
// in the caller's ExecContext and are reused, so Execute() allocates nothing once a context has seen the
// entry.
struct PrimitiveEntry {
  using PointerArgs = std::vector<std::pair<int, dnnl::memory::desc>>;  // (DNNL_ARG_*, descriptor)

  dnnl::primitive primitive;
  PointerArgs pointer_args;
  dnnl::memory::desc scratchpad;  // zero-sized when the primitive needs none
  std::string impl;               // pd.impl_info_str(), e.g. "brg:avx512_core"
  uint64_t id = 0;                // unique in the process; keys the ExecContext's memory objects

  // PrimitiveEntry::Make<dnnl::matmul>(pd, {{DNNL_ARG_SRC, src_md}, ...}).
  template <typename Primitive>
  static PrimitiveEntry Make(const typename Primitive::primitive_desc& pd, PointerArgs pointer_args) {
    return PrimitiveEntry{Primitive(pd), std::move(pointer_args), pd.scratchpad_desc(), pd.impl_info_str(),
                          NextId()};
  }
  static uint64_t NextId();

  // Runs the primitive on `ctx`'s stream with `ctx`'s scratchpad. `pointers` are the data of pointer_args,
  // in order; `memories` are further arguments that already exist as memory objects (weights, bias...).
  // Throws dnnl::error.
  void Execute(ExecContext* ctx, std::initializer_list<const void*> pointers,
               std::initializer_list<std::pair<int, const dnnl::memory*>> memories = {}) const;
};

template <typename Key>
class PrimitiveTable {
 public:
  PrimitiveTable() = default;
  PrimitiveTable(const PrimitiveTable&) = delete;
  PrimitiveTable& operator=(const PrimitiveTable&) = delete;

  // The entry for `key`, built by `make()` (returning a PrimitiveEntry; it may throw dnnl::error) if absent.
  // Before Seal(): one thread only. After Seal(): any thread; lock-free for the keys built before Seal().
  template <typename Make>
  const PrimitiveEntry& GetOrCreate(const Key& key, Make make) const {
    if (sealed_) {
      if (auto it = entries_.find(key); it != entries_.end()) return *it->second;
      absl::MutexLock lock(&overflow_mu_);
      std::unique_ptr<PrimitiveEntry>& slot = overflow_[key];
      if (slot == nullptr) slot = std::make_unique<PrimitiveEntry>(make());
      return *slot;
    }
    std::unique_ptr<PrimitiveEntry>& slot = entries_[key];
    if (slot == nullptr) slot = std::make_unique<PrimitiveEntry>(make());
    return *slot;
  }

  // Ends the build phase. REQUIRES: called once, before the owner is shared between threads.
  void Seal() { sealed_ = true; }

  // Entries built before Seal().
  size_t size() const { return entries_.size(); }
  // Entries built after Seal() (keys the load did not foresee).
  size_t overflow_size() const {
    absl::MutexLock lock(&overflow_mu_);
    return overflow_.size();
  }

  // "<prefix><impl><suffix>" for every distinct implementation name, sorted: the ops' KernelInfo() lines.
  std::vector<std::string> KernelLines(const std::string& prefix, const std::string& suffix = "") const {
    std::vector<std::string> lines;
    for (const std::string& impl : ImplNames()) lines.push_back(prefix + impl + suffix);
    return lines;
  }

  // The distinct implementation names of all entries, sorted.
  std::vector<std::string> ImplNames() const {
    std::vector<std::string> names;
    for (const auto& [key, entry] : entries_) names.push_back(entry->impl);
    {
      absl::MutexLock lock(&overflow_mu_);
      for (const auto& [key, entry] : overflow_) names.push_back(entry->impl);
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
  }

 private:
  bool sealed_ = false;
  // Written only before Seal(); read-only afterwards.
  mutable absl::flat_hash_map<Key, std::unique_ptr<PrimitiveEntry>> entries_;
  mutable absl::Mutex overflow_mu_;
  mutable absl::flat_hash_map<Key, std::unique_ptr<PrimitiveEntry>> overflow_ ABSL_GUARDED_BY(overflow_mu_);
};

// Row chunking (see the file comment). Rows a buffer must hold so that chunked ops may run on `rows` rows.
inline int64_t PaddedRows(int64_t rows) { return (rows + 15) / 16 * 16; }

// Every chunk size ForEachRowChunk(rows, ...) can produce for rows <= max_rows, ascending.
std::vector<int64_t> RowChunkSizes(int64_t max_rows);

// Builds the primitive of every chunk size up to `max_rows`: build(rows) under the thread limit the chunk
// will run with, ScopedThreadLimit(single_threaded(rows)) (a primitive belongs to its thread count).
template <typename SingleThreadedFn, typename BuildFn>
void PrebuildRowChunks(int64_t max_rows, SingleThreadedFn single_threaded, BuildFn build) {
  for (int64_t rows : RowChunkSizes(max_rows)) {
    const ScopedThreadLimit limit(single_threaded(rows));
    build(rows);
  }
}

// Calls fn(first_row, chunk_rows) for consecutive chunks covering [0, rows); the chunks' sizes come from the
// fixed set and only the last may extend past `rows` (up to PaddedRows(rows)).
template <typename Fn>
void ForEachRowChunk(int64_t rows, Fn fn) {
  int64_t begin = 0;
  while (begin < rows) {
    const int64_t left = rows - begin;
    int64_t chunk;
    if (left > 256) {
      chunk = 256;
      while (chunk * 2 <= left) chunk *= 2;
    } else if (left > 8) {
      chunk = (left + 15) / 16 * 16;
    } else {
      chunk = 1;
      while (chunk < left) chunk *= 2;
    }
    fn(begin, chunk);
    begin += chunk;
  }
}

}  // namespace qkv

#endif  // QKV_CORE_PRIMITIVE_CACHE_H_
