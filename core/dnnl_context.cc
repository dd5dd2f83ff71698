#include "core/dnnl_context.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
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

void* ExecContext::ScratchpadData(size_t bytes) {
  scratchpad_.Reserve(static_cast<int64_t>((bytes + sizeof(float) - 1) / sizeof(float)));
  return scratchpad_.data();
}

uint64_t PrimitiveEntry::NextId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

void PrimitiveEntry::Execute(ExecContext* ctx, std::initializer_list<const void*> pointers,
                             std::initializer_list<std::pair<int, const dnnl::memory*>> memories) const {
  constexpr size_t kMaxArgs = 16;
  const bool with_scratchpad = scratchpad.get_size() > 0;
  if (pointers.size() != pointer_args.size() ||
      pointers.size() + memories.size() + (with_scratchpad ? 1 : 0) > kMaxArgs) {
    throw dnnl::error(dnnl_invalid_arguments, "PrimitiveEntry::Execute: wrong number of arguments");
  }
  std::vector<dnnl::memory>& bound = ctx->BoundMemories(id);
  if (bound.empty()) {
    for (const auto& [arg, md] : pointer_args) bound.push_back(dnnl::memory(md, CpuEngine(), DNNL_MEMORY_NONE));
    if (with_scratchpad) bound.push_back(dnnl::memory(scratchpad, CpuEngine(), DNNL_MEMORY_NONE));
  }
  dnnl_exec_arg_t args[kMaxArgs];
  size_t n = 0;
  for (const void* data : pointers) {
    bound[n].set_data_handle(const_cast<void*>(data));
    args[n] = {pointer_args[n].first, bound[n].get()};
    ++n;
  }
  if (with_scratchpad) {
    dnnl::memory& pad = bound[pointer_args.size()];
    pad.set_data_handle(ctx->ScratchpadData(scratchpad.get_size()));
    args[n++] = {DNNL_ARG_SCRATCHPAD, pad.get()};
  }
  for (const auto& [arg, memory] : memories) args[n++] = {arg, memory->get()};
  dnnl::error::wrap_c_api(
      dnnl_primitive_execute(primitive.get(), ctx->stream().get(), static_cast<int>(n), args),
      "could not execute a primitive");
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
