#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "core/bounded_json.h"
#include "core/float16.h"
#include "nlohmann/json.hpp"

namespace qkv {
namespace {

using nlohmann::json;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

// Element sizes of the dtypes the safetensors format defines.
int64_t ItemSize(const std::string& dtype) {
  static const std::map<std::string, int64_t>* const kSizes = new std::map<std::string, int64_t>{
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
      {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},     {"F64", 8},     {"I64", 8}, {"U64", 8}};
  auto it = kSizes->find(dtype);
  return it == kSizes->end() ? 0 : it->second;
}

absl::Status Invalid(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": invalid safetensors file: ", what));
}

absl::Status InvalidTensor(const std::string& path, const std::string& name, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": invalid safetensors file: tensor \"", name, "\": ", what));
}

// Parses one header entry. `data_size` is the byte length of the data section.
absl::Status ParseEntry(const std::string& path, const std::string& name, const json& value,
                        uint64_t data_size, SafetensorsEntry* entry) {
  if (!value.is_object()) return InvalidTensor(path, name, "entry is not a JSON object");
  auto dtype = value.find("dtype");
  auto shape = value.find("shape");
  auto offsets = value.find("data_offsets");
  if (dtype == value.end()) return InvalidTensor(path, name, "missing \"dtype\"");
  if (shape == value.end()) return InvalidTensor(path, name, "missing \"shape\"");
  if (offsets == value.end()) return InvalidTensor(path, name, "missing \"data_offsets\"");
  if (!dtype->is_string()) return InvalidTensor(path, name, "\"dtype\" is not a string");
  entry->dtype = dtype->get<std::string>();
  // A dtype this reader does not know (a newer format version's, e.g. sub-byte floats) is no error while
  // the tensor is unused: its range is still bounded and checked for overlaps, and Read() refuses it.
  entry->item_size = ItemSize(entry->dtype);

  if (!shape->is_array()) return InvalidTensor(path, name, "\"shape\" is not an array");
  // Overflow-safe: the element count is checked against the data size after each dimension (a zero
  // dimension makes any later product zero, so only non-zero products are bounded). An unknown dtype may
  // pack several elements in a byte (F4: two), so its bound is 8 elements per byte.
  uint64_t max_elements = data_size;
  if (entry->item_size == 0) max_elements = data_size > UINT64_MAX / 8 ? UINT64_MAX : data_size * 8;
  uint64_t elements = 1;
  bool has_zero = false;
  for (const json& dim : *shape) {
    if (!dim.is_number_unsigned()) {
      return InvalidTensor(path, name,
                           absl::StrCat("shape entry ", JsonSummary(dim), " is not a non-negative integer"));
    }
    const uint64_t d = dim.get<uint64_t>();
    if (d > static_cast<uint64_t>(INT64_MAX)) {
      return InvalidTensor(path, name, absl::StrCat("shape entry ", d, " is too large"));
    }
    entry->shape.push_back(static_cast<int64_t>(d));
    if (d == 0) {
      has_zero = true;
    } else if (!has_zero) {
      if (elements > max_elements / d) {
        return InvalidTensor(path, name,
                             absl::StrCat("shape ", JsonSummary(*shape), " is larger than the file"));
      }
      elements *= d;
    }
  }
  if (has_zero) elements = 0;

  if (!offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned()) {
    return InvalidTensor(
        path, name,
        absl::StrCat("\"data_offsets\" ", JsonSummary(*offsets), " is not a pair of non-negative integers"));
  }
  entry->begin = (*offsets)[0].get<uint64_t>();
  entry->end = (*offsets)[1].get<uint64_t>();
  if (entry->begin > entry->end) {
    return InvalidTensor(path, name,
                         absl::StrCat("data_offsets begin ", entry->begin, " > end ", entry->end));
  }
  if (entry->end > data_size) {
    return InvalidTensor(path, name,
                         absl::StrCat("data_offsets [", entry->begin, ", ", entry->end,
                                      ") run past the end of the data (", data_size, " bytes)"));
  }
  if (entry->item_size == 0) return absl::OkStatus();
  // elements <= data_size and item_size <= 8, so the product fits in uint64_t.
  const uint64_t expected_bytes = elements * static_cast<uint64_t>(entry->item_size);
  if (entry->end - entry->begin != expected_bytes) {
    return InvalidTensor(
        path, name,
        absl::StrCat("shape ", JsonSummary(*shape), " of ", entry->dtype, " needs ", expected_bytes,
                     " bytes, data_offsets span ", entry->end - entry->begin));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SafetensorsReader>> SafetensorsReader::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    return Invalid(path,
                   absl::StrCat("the file has ", file_size, " bytes, shorter than the 8-byte header length"));
  }
  void* mapping = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int mmap_errno = errno;
  ::close(fd);
  if (mapping == MAP_FAILED) {
    return absl::InternalError(absl::StrCat(path, ": mmap failed: ", std::strerror(mmap_errno)));
  }
  // From here the reader owns the mapping and unmaps it on every return path.
  std::unique_ptr<SafetensorsReader> reader(
      new SafetensorsReader(path, static_cast<const unsigned char*>(mapping), file_size));

  if (IsGitLfsPointer(absl::string_view(reinterpret_cast<const char*>(reader->mapping_),
                                        std::min<uint64_t>(file_size, 64)))) {
    return GitLfsPointerError(path);
  }
  uint64_t header_size = 0;
  for (int i = 0; i < 8; ++i) header_size |= static_cast<uint64_t>(reader->mapping_[i]) << (8 * i);
  if (header_size > kMaxHeaderBytes) {
    return Invalid(
        path, absl::StrCat("header length ", header_size, " exceeds the ", kMaxHeaderBytes, "-byte limit"));
  }
  if (header_size > file_size - 8) {
    return Invalid(path, absl::StrCat("header length ", header_size, " runs past the end of the file (",
                                      file_size, " bytes)"));
  }
  reader->data_offset_ = 8 + header_size;
  const uint64_t data_size = file_size - reader->data_offset_;

  const char* header_begin = reinterpret_cast<const char*>(reader->mapping_ + 8);
  absl::StatusOr<json> parsed = ParseBoundedJson(absl::string_view(header_begin, header_size));
  if (!parsed.ok())
    return Invalid(path, absl::StrCat("the header is not valid JSON: ", parsed.status().message()));
  const json& header = *parsed;
  if (!header.is_object()) return Invalid(path, "the header is not a JSON object");

  try {
    for (auto it = header.begin(); it != header.end(); ++it) {
      if (it.key() == "__metadata__") continue;
      SafetensorsEntry entry;
      if (auto status = ParseEntry(path, it.key(), it.value(), data_size, &entry); !status.ok())
        return status;
      reader->entries_.emplace(it.key(), std::move(entry));
    }
  } catch (const json::exception& e) {
    return Invalid(path, e.what());
  }

  // Overlap check over the non-empty ranges, sorted by begin.
  std::vector<std::pair<const std::string*, const SafetensorsEntry*>> ranges;
  for (const auto& [name, entry] : reader->entries_) {
    if (entry.end > entry.begin) ranges.emplace_back(&name, &entry);
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const auto& a, const auto& b) { return a.second->begin < b.second->begin; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].second->begin < ranges[i - 1].second->end) {
      return InvalidTensor(
          path, *ranges[i].first,
          absl::StrCat("data_offsets [", ranges[i].second->begin, ", ", ranges[i].second->end,
                       ") overlap tensor \"", *ranges[i - 1].first, "\" [", ranges[i - 1].second->begin, ", ",
                       ranges[i - 1].second->end, ")"));
    }
  }
  return reader;
}

SafetensorsReader::~SafetensorsReader() {
  if (mapping_ != nullptr) ::munmap(const_cast<unsigned char*>(mapping_), mapping_size_);
}

const SafetensorsEntry* SafetensorsReader::Find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

absl::StatusOr<Tensor> SafetensorsReader::Read(const std::string& name) const {
  const SafetensorsEntry* entry = Find(name);
  if (entry == nullptr) return absl::NotFoundError(absl::StrCat(path_, ": no tensor \"", name, "\""));
  if (entry->item_size == 0) {
    return absl::UnimplementedError(absl::StrCat(path_, ": tensor \"", name, "\" has unknown dtype ",
                                                 entry->dtype,
                                                 "; only F32, F16, BF16 and F64 weights are supported"));
  }
  const unsigned char* src = mapping_ + data_offset_ + entry->begin;
  const size_t count = static_cast<size_t>((entry->end - entry->begin) / entry->item_size);
  Tensor tensor;
  tensor.shape = entry->shape;
  if (entry->dtype == "F32") {
    tensor.data.resize(count);
    if (count > 0) std::memcpy(tensor.data.data(), src, count * sizeof(float));
  } else if (entry->dtype == "F16" || entry->dtype == "BF16") {
    const bool half = entry->dtype == "F16";
    tensor.data.resize(count);
    for (size_t i = 0; i < count; ++i) {
      const uint16_t bits = static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8));
      tensor.data[i] = half ? HalfToFloat(bits) : BFloat16ToFloat(bits);
    }
  } else if (entry->dtype == "F64") {
    tensor.data.resize(count);
    for (size_t i = 0; i < count; ++i) {
      double value;
      std::memcpy(&value, src + 8 * i, sizeof(value));
      tensor.data[i] = static_cast<float>(value);
    }
  } else {
    return absl::UnimplementedError(absl::StrCat(path_, ": tensor \"", name, "\" has dtype ", entry->dtype,
                                                 "; only F32, F16, BF16 and F64 weights are supported"));
  }
  return tensor;
}

}  // namespace qkv
