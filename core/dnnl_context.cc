#include "core/dnnl_context.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "core/primitive_cache.h"

namespace qkv {

const dnnl::engine& CpuEngine() {
  static const dnnl::engine* const engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

void AlignedBuffer::Free::operator()(float* p) const { std::free(p); }

void AlignedBuffer::Reserve(int64_t num_floats) {
  if (num_floats <= capacity_) return;
  constexpr size_t kAlign = 64;
  size_t bytes = static_cast<size_t>(num_floats) * sizeof(float);
  bytes = (bytes + kAlign - 1) / kAlign * kAlign;
  data_.reset();
  capacity_ = 0;
  void* p = std::aligned_alloc(kAlign, bytes);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  data_.reset(static_cast<float*>(p));
  capacity_ = static_cast<int64_t>(bytes / sizeof(float));
}

std::vector<int64_t> RowChunkSizes(int64_t max_rows) {
  std::vector<int64_t> sizes;
  const int64_t limit = PaddedRows(max_rows);
  for (int64_t s : {1, 2, 4, 8}) {
    if (s <= limit) sizes.push_back(s);
  }
  for (int64_t s = 16; s <= std::min<int64_t>(256, limit); s += 16) sizes.push_back(s);
  for (int64_t s = 512; s <= limit; s *= 2) sizes.push_back(s);
  return sizes;
}

int ThreadCount() { return omp_get_max_threads(); }

ScopedThreadLimit::ScopedThreadLimit(bool single) {
  if (single && omp_get_max_threads() > 1) {
    saved_ = omp_get_max_threads();
    omp_set_num_threads(1);
  }
}

ScopedThreadLimit::~ScopedThreadLimit() {
  if (saved_ > 0) omp_set_num_threads(saved_);
}

ExecContext::ExecContext() : stream_(CpuEngine()) {}

dnnl::memory ExecContext::Scratchpad(const dnnl::memory::desc& md) {
  const size_t bytes = md.get_size();
  scratchpad_.Reserve(static_cast<int64_t>((bytes + sizeof(float) - 1) / sizeof(float)));
  return dnnl::memory(md, CpuEngine(), scratchpad_.data());
}

dnnl::memory::desc PlainDesc(const dnnl::memory::dims& dims) {
  dnnl::memory::format_tag tag;
  switch (dims.size()) {
    case 1:
      tag = dnnl::memory::format_tag::a;
      break;
    case 2:
      tag = dnnl::memory::format_tag::ab;
      break;
    case 3:
      tag = dnnl::memory::format_tag::abc;
      break;
    default:
      tag = dnnl::memory::format_tag::abcd;
      break;
  }
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, tag);
}

absl::Status DnnlErrorToStatus(const dnnl::error& e, const std::string& what) {
  return absl::InternalError(
      absl::StrCat(what, ": oneDNN error ", static_cast<int>(e.status), ": ", e.what()));
}

}  // namespace qkv
