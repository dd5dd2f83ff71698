// PrimitiveCache: oneDNN primitives built once per shape key and kept for the owner's lifetime, plus the
// row-chunking rule that keeps the number of distinct shapes small.
//
// oneDNN 2.6 only picks its fast kernels (brgemm) for concrete shapes; a runtime M with fused post-ops
// falls back to the reference kernel. So ops build one primitive per concrete row count. To bound how many
// they build, a batch of M rows is cut into chunks whose sizes come from a fixed set (1, 2, 4, 8, then
// multiples of 16 up to 256, then powers of two); only the last chunk may be padded, by fewer than 16 rows.
//
// Thread safety: GetOrCreate() and ImplNames() may be called from any number of threads. Entries are never
// removed, so a returned reference stays valid for the cache's lifetime.
#ifndef QKV_CORE_PRIMITIVE_CACHE_H_
#define QKV_CORE_PRIMITIVE_CACHE_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "core/dnnl_context.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace qkv {

// A built primitive and what executing it needs.
struct PrimitiveEntry {
  dnnl::primitive primitive;
  dnnl::memory::desc scratchpad;  // zero-sized when the primitive needs none
  std::string impl;               // pd.impl_info_str(), e.g. "brg:avx512_core"

  // PrimitiveEntry::Make<dnnl::matmul>(pd).
  template <typename Primitive>
  static PrimitiveEntry Make(const typename Primitive::primitive_desc& pd) {
    return PrimitiveEntry{Primitive(pd), pd.scratchpad_desc(), pd.impl_info_str()};
  }

  // Runs the primitive on `ctx`'s stream with `ctx`'s scratchpad. Throws dnnl::error.
  void Execute(ExecContext* ctx, std::unordered_map<int, dnnl::memory> args) const {
    if (scratchpad.get_size() > 0) args.emplace(DNNL_ARG_SCRATCHPAD, ctx->Scratchpad(scratchpad));
    primitive.execute(ctx->stream(), args);
  }
};

template <typename Key>
class PrimitiveCache {
 public:
  PrimitiveCache() = default;
  PrimitiveCache(const PrimitiveCache&) = delete;
  PrimitiveCache& operator=(const PrimitiveCache&) = delete;

  // The entry for `key`, built by `make()` (returning a PrimitiveEntry; it may throw dnnl::error) on first
  // use.
  template <typename Make>
  const PrimitiveEntry& GetOrCreate(const Key& key, Make make) const {
    absl::MutexLock lock(&mu_);
    std::unique_ptr<PrimitiveEntry>& slot = entries_[key];
    if (slot == nullptr) {
      auto entry = std::make_unique<PrimitiveEntry>(make());
      slot = std::move(entry);
    }
    return *slot;
  }

  // The distinct implementation names of the entries built so far, sorted.
  std::vector<std::string> ImplNames() const {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> names;
    for (const auto& [key, entry] : entries_) {
      if (entry != nullptr) names.push_back(entry->impl);
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
  }

 private:
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<Key, std::unique_ptr<PrimitiveEntry>> entries_ ABSL_GUARDED_BY(mu_);
};

// Row chunking (see the file comment). Rows a buffer must hold so that chunked ops may run on `rows` rows.
inline int64_t PaddedRows(int64_t rows) { return (rows + 15) / 16 * 16; }

// Every chunk size ForEachRowChunk(rows, ...) can produce for rows <= max_rows, ascending.
std::vector<int64_t> RowChunkSizes(int64_t max_rows);

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
