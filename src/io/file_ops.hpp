// Low-level file operations for streaming output: kernel-side copies, positioned writes, fsync.
// Every failure throws Error(Io) naming the file; a full disk reads "No space left on device".
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace qk {

class Sha256;

// Whether a finished file is on disk (fsync) or may still sit in the page cache as `cp` leaves it.
// Either way a killed run leaves no partial output: files are installed by renaming their directory.
enum class Durability { PageCache, Disk };

class OutputFile {
 public:
  // Creates the file (fails if it exists). With Durability::Disk the disk writes of each copied
  // chunk start at once, so that the fsync in close() finds little left.
  OutputFile(const std::filesystem::path& path, Durability durability);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Makes this still empty file share every block of `source_fd` (FICLONE, as `cp --reflink`: XFS,
  // btrfs) and returns true; returns false, changing nothing, where the filesystem cannot.
  bool clone_from(int source_fd, std::uint64_t source_size);
  // Sets the length; bytes not written yet read as zeros until copy_in/write_at fill them.
  void resize(std::uint64_t size);
  // Appends `length` bytes of `source_fd` from `source_offset`, inside the kernel where it can
  // (copy_file_range: no decoding, reflinks on filesystems that share extents).
  void append_copy(int source_fd, std::uint64_t source_offset, std::uint64_t length, const std::string& source_label);
  // The same at `offset` inside the file. Distinct ranges may be filled from two threads at once.
  void copy_in(std::uint64_t offset, int source_fd, std::uint64_t source_offset, std::uint64_t length, const std::string& source_label);
  // Copies through a small buffer and feeds each byte written to `hash`, so the digest is that of
  // exactly the bytes in the file, even if the source changed meanwhile.
  void copy_in_hashed(std::uint64_t offset, int source_fd, std::uint64_t source_offset, std::uint64_t length,
                      const std::string& source_label, Sha256& hash);
  void append(std::span<const std::byte> bytes);
  void write_at(std::uint64_t offset, std::span<const std::byte> bytes);  // overwrite in place
  std::uint64_t size() const { return size_; }
  void close();  // fsyncs first under Durability::Disk
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  Durability durability_;
  int fd_ = -1;
  std::uint64_t size_ = 0;

  void copy_range(std::uint64_t offset, int source_fd, std::uint64_t source_offset, std::uint64_t length, const std::string& source_label);
  void copy_through_buffer(int source_fd, std::uint64_t source_offset, std::uint64_t offset, std::uint64_t length,
                           const std::string& source_label, Sha256* hash);
  void check_inside(std::uint64_t offset, std::uint64_t length) const;
};

// Copies a whole file (tokenizer, config and the other files of a checkpoint).
void copy_file_contents(const std::filesystem::path& from, const std::filesystem::path& to, Durability durability);
void write_text_file(const std::filesystem::path& path, std::string_view text, Durability durability = Durability::Disk);
void fsync_directory(const std::filesystem::path& dir);

// Hook for progress reporting and cancellation: called with the bytes just written.
using ProgressHook = void (*)(std::uint64_t bytes, void* context);
void set_copy_progress_hook(ProgressHook hook, void* context);

}  // namespace qk
