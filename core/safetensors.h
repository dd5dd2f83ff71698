// SafetensorsReader: reads tensors from a .safetensors file through a read-only memory mapping.
//
// Format: an 8-byte little-endian header length N, N bytes of JSON header
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {...}}, then the
// data; offsets are relative to the first byte after the header. Open() validates the whole header
// (dtypes, shapes, byte lengths, bounds, overlaps) so that Read() can never read outside the mapping; every
// error is a Status that names the file (and the tensor). A dtype it does not know is accepted in the header
// (the tensor's byte range is still bounded and overlap-checked; its length is not checked against the
// shape) and refused by Read(), so that files with unused tensors of newer dtypes load.
//
// Thread safety: immutable after Open(); Read() is const and safe from any number of threads.
#ifndef QKV_CORE_SAFETENSORS_H_
#define QKV_CORE_SAFETENSORS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tensor.h"

namespace qkv {

// One header entry.
struct SafetensorsEntry {
  std::string dtype;           // as written: "F32", "F16", "BF16", "I64", ...
  int64_t item_size = 0;       // bytes per element; 0 for a dtype the reader does not know
  std::vector<int64_t> shape;  // row-major
  uint64_t begin = 0;          // [begin, end): byte range relative to the data section
  uint64_t end = 0;
};

class SafetensorsReader {
 public:
  // Header larger than this is treated as corrupt.
  static constexpr uint64_t kMaxHeaderBytes = 100u << 20;

  // Maps `path` and validates its header. NotFound when the file cannot be opened; InvalidArgument for a
  // malformed file.
  static absl::StatusOr<std::unique_ptr<SafetensorsReader>> Open(const std::string& path);

  ~SafetensorsReader();  // unmaps the file
  SafetensorsReader(const SafetensorsReader&) = delete;
  SafetensorsReader& operator=(const SafetensorsReader&) = delete;

  const std::string& path() const { return path_; }
  // Bytes of the JSON header (at most kMaxHeaderBytes).
  uint64_t header_bytes() const { return data_offset_ - 8; }
  // Tensor entries by name ("__metadata__" excluded).
  const std::map<std::string, SafetensorsEntry>& entries() const { return entries_; }
  // nullptr when the file has no tensor `name`.
  const SafetensorsEntry* Find(const std::string& name) const;

  // Copies tensor `name` into a float32 Tensor, converting F16 and BF16 exactly. NotFound when absent;
  // Unimplemented for dtypes other than F32, F16, BF16 and F64 (unknown ones included).
  absl::StatusOr<Tensor> Read(const std::string& name) const;

 private:
  SafetensorsReader(std::string path, const unsigned char* mapping, size_t mapping_size)
      : path_(std::move(path)), mapping_(mapping), mapping_size_(mapping_size) {}

  std::string path_;
  const unsigned char* mapping_;  // owned: munmap'd in the destructor
  size_t mapping_size_;
  uint64_t data_offset_ = 0;  // file offset of the data section (8 + header length)
  std::map<std::string, SafetensorsEntry> entries_;
};

}  // namespace qkv

#endif  // QKV_CORE_SAFETENSORS_H_
