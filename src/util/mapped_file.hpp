// A read-only memory map of a whole file. Reading tensors through the map lets the kernel page
// data in and out, so a 500 GB checkpoint never has to fit in memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

namespace qk {

class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);  // throws Error(Io) naming the path
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  std::size_t size() const { return size_; }
  int fd() const { return fd_; }  // kept open for copy_file_range
  const std::filesystem::path& path() const { return path_; }
  // Unmaps a range we are done with, so streaming a huge file keeps RSS bounded (the page cache keeps it).
  void release(std::size_t offset, std::size_t length) const;

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace qk
