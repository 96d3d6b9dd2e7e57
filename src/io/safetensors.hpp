// Reader for one .safetensors file (format: github.com/huggingface/safetensors).
//
// Layout: u64 little-endian N | N bytes of JSON header | data section.
// Header: {"__metadata__": {str: str}, "<name>": {"dtype": "BF16", "shape": [..], "data_offsets": [b, e]}, ...}
// Offsets are relative to the start of the data section. Everything is validated on open, as the
// reference parser does, before any tensor byte is used.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <sys/stat.h>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/dtype.hpp"
#include "util/mapped_file.hpp"

namespace qk {

inline constexpr std::uint64_t kMaxSafetensorsHeader = 100'000'000;  // as the reference parser

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // byte offsets within the data section, [begin, end)
  std::uint64_t end = 0;

  std::uint64_t byte_size() const { return end - begin; }
  std::uint64_t element_count() const;
  std::int64_t rows() const { return shape.empty() ? 1 : shape[0]; }  // first dimension
  std::uint64_t row_bytes() const;                                     // bytes of one first-dim slice
};

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::filesystem::path& path);  // maps and validates; throws Error(Format|Io)

  const std::filesystem::path& path() const { return file_.path(); }
  // Tensors in the order of their data offsets (the order of the bytes in the file).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(std::string_view name) const;  // nullptr when absent
  const TensorInfo& at(std::string_view name) const;    // throws Error(Format) naming file and tensor
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  std::span<const std::byte> data(const TensorInfo& tensor) const;
  std::uint64_t data_start() const { return data_start_; }  // file offset of the data section
  std::uint64_t file_size() const { return file_.size(); }
  const MappedFile& file() const { return file_; }
  // Throws Error(Io) when the file at path() is no longer the one opened: removed, replaced, resized
  // or rewritten since (a download or sync finishing mid-run). Called before an output is installed,
  // so bytes read from two versions of a shard are never installed as one model.
  void check_unchanged() const;

 private:
  struct Identity {
    std::uint64_t device = 0, inode = 0, size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const Identity&) const = default;
  };
  static Identity identity_of(const struct stat& st);
  MappedFile file_;
  Identity opened_;
  std::uint64_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, std::size_t> by_name_;
  std::map<std::string, std::string> metadata_;
};

// Parses and validates a header alone (used by the reader and by the fuzzer).
// `data_size` is the byte count of the data section the header must describe exactly.
struct ParsedHeader {
  std::vector<TensorInfo> tensors;  // sorted by offset
  std::map<std::string, std::string> metadata;
};
ParsedHeader parse_safetensors_header(std::string_view json, std::uint64_t data_size, const std::string& file_label);

// Serialises a header in the reference layout: JSON padded with spaces to a multiple of 8 bytes.
std::string serialize_safetensors_header(const std::vector<TensorInfo>& tensors,
                                         const std::map<std::string, std::string>& metadata);

}  // namespace qk
