#include "io/file_ops.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "util/error.hpp"
#include "util/mapped_file.hpp"
#include "util/sha256.hpp"

namespace qk {
namespace {

ProgressHook g_hook = nullptr;
void* g_hook_context = nullptr;

void report(std::uint64_t bytes) {
  if (g_hook) g_hook(bytes, g_hook_context);
}

[[noreturn]] void io_error(std::string_view what, const std::filesystem::path& path) {
  fail(ErrorKind::Io, "cannot {} {}: {}", what, path.string(), std::strerror(errno));
}

void write_fully(int fd, const std::byte* data, std::uint64_t length, std::uint64_t offset, const std::filesystem::path& path) {
  while (length > 0) {
    ssize_t n = ::pwrite(fd, data, std::min<std::uint64_t>(length, 1u << 30), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) io_error("write", path);
    data += n;
    offset += static_cast<std::uint64_t>(n);
    length -= static_cast<std::uint64_t>(n);
  }
}

// A durable output is fsynced before it is installed. Starting the disk writes of each chunk as soon as it
// is copied lets the disk work while the next chunk is copied, so the final fsync finds little left:
// durability then costs about the time `cp` alone takes instead of copy time plus write-back time.
constexpr std::uint64_t kWritebackChunk = 64u << 20;

// Reads and writes through user space go by pieces that stay in the CPU's cache between the read,
// the hash and the write.
constexpr std::uint64_t kBufferedChunk = 1u << 20;

void start_writeback(int fd, off_t offset, ssize_t length) {
  // Advisory (SYNC_FILE_RANGE_WRITE only queues the writes): a failure here is not an error, the
  // final fsync reports any real one.
  ::sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
}

}  // namespace

void set_copy_progress_hook(ProgressHook hook, void* context) {
  g_hook = hook;
  g_hook_context = context;
}

OutputFile::OutputFile(const std::filesystem::path& path, Durability durability) : path_(path), durability_(durability) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) io_error("create", path);
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
}

bool OutputFile::clone_from(int source_fd, std::uint64_t source_size) {
  if (size_ != 0) fail(ErrorKind::Io, "internal: clone into the non-empty {}", path_.string());
  // EOPNOTSUPP (ext4, tmpfs), EXDEV (another filesystem), EINVAL: no shared blocks here; the caller copies.
  if (::ioctl(fd_, FICLONE, source_fd) != 0) return false;
  size_ = source_size;
  return true;
}

void OutputFile::resize(std::uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) io_error("extend", path_);
  size_ = size;
}

void OutputFile::check_inside(std::uint64_t offset, std::uint64_t length) const {
  if (offset + length > size_) fail(ErrorKind::Io, "internal: write past the end of {}", path_.string());
}

void OutputFile::append_copy(int source_fd, std::uint64_t source_offset, std::uint64_t length, const std::string& source_label) {
  copy_range(size_, source_fd, source_offset, length, source_label);
  size_ += length;
}

void OutputFile::copy_in(std::uint64_t offset, int source_fd, std::uint64_t source_offset, std::uint64_t length,
                         const std::string& source_label) {
  check_inside(offset, length);
  copy_range(offset, source_fd, source_offset, length, source_label);
}

void OutputFile::copy_in_hashed(std::uint64_t offset, int source_fd, std::uint64_t source_offset, std::uint64_t length,
                                const std::string& source_label, Sha256& hash) {
  check_inside(offset, length);
  copy_through_buffer(source_fd, source_offset, offset, length, source_label, &hash);
}

void OutputFile::copy_range(std::uint64_t offset, int source_fd, std::uint64_t source_offset, std::uint64_t length,
                            const std::string& source_label) {
  auto in_offset = static_cast<off_t>(source_offset);
  auto out_offset = static_cast<off_t>(offset);
  std::uint64_t remaining = length;
  while (remaining > 0) {
    const off_t chunk_start = out_offset;
    ssize_t n = ::copy_file_range(source_fd, &in_offset, fd_, &out_offset, std::min<std::uint64_t>(remaining, kWritebackChunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) break;  // no kernel copy here
    if (n < 0) io_error("copy into", path_);
    if (n == 0) fail(ErrorKind::Io, "{} ended early while copying into {} (file truncated while we read it?)", source_label, path_.string());
    remaining -= static_cast<std::uint64_t>(n);
    if (durability_ == Durability::Disk) start_writeback(fd_, chunk_start, n);
    report(static_cast<std::uint64_t>(n));
  }
  // Read/write from where the kernel stopped, if it could not copy.
  copy_through_buffer(source_fd, static_cast<std::uint64_t>(in_offset), static_cast<std::uint64_t>(out_offset), remaining,
                      source_label, nullptr);
}

void OutputFile::copy_through_buffer(int source_fd, std::uint64_t source_offset, std::uint64_t offset, std::uint64_t length,
                                     const std::string& source_label, Sha256* hash) {
  std::vector<std::byte> buffer(std::min<std::uint64_t>(length, kBufferedChunk));
  std::uint64_t written = 0;  // since the last start of write-back
  while (length > 0) {
    ssize_t n = ::pread(source_fd, buffer.data(), std::min<std::uint64_t>(length, buffer.size()), static_cast<off_t>(source_offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(ErrorKind::Io, "cannot read {}: {}", source_label, std::strerror(errno));
    if (n == 0) fail(ErrorKind::Io, "{} ended early while copying into {}", source_label, path_.string());
    const auto bytes = std::span(buffer.data(), static_cast<std::size_t>(n));
    if (hash) hash->update(bytes);
    write_fully(fd_, bytes.data(), bytes.size(), offset, path_);
    report(bytes.size());
    source_offset += bytes.size();
    offset += bytes.size();
    length -= bytes.size();
    written += bytes.size();
    if (durability_ == Durability::Disk && (written >= kWritebackChunk || length == 0)) {
      start_writeback(fd_, static_cast<off_t>(offset - written), static_cast<ssize_t>(written));
      written = 0;
    }
  }
}

void OutputFile::append(std::span<const std::byte> bytes) {
  write_fully(fd_, bytes.data(), bytes.size(), size_, path_);
  report(bytes.size());
  size_ += bytes.size();
}

void OutputFile::write_at(std::uint64_t offset, std::span<const std::byte> bytes) {
  check_inside(offset, bytes.size());
  write_fully(fd_, bytes.data(), bytes.size(), offset, path_);
  if (durability_ == Durability::Disk) start_writeback(fd_, static_cast<off_t>(offset), static_cast<ssize_t>(bytes.size()));
  report(bytes.size());
}

void OutputFile::close() {
  if (fd_ < 0) return;
  if (durability_ == Durability::Disk && ::fsync(fd_) != 0) io_error("flush", path_);
  if (::close(fd_) != 0) {
    fd_ = -1;
    io_error("close", path_);
  }
  fd_ = -1;
}

void copy_file_contents(const std::filesystem::path& from, const std::filesystem::path& to, Durability durability) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) io_error("open", from);
  struct stat st {};
  if (::fstat(in, &st) != 0) {
    ::close(in);
    io_error("stat", from);
  }
  try {
    OutputFile out(to, durability);
    out.append_copy(in, 0, static_cast<std::uint64_t>(st.st_size), from.string());
    out.close();
  } catch (...) {
    ::close(in);
    throw;
  }
  ::close(in);
}

void write_text_file(const std::filesystem::path& path, std::string_view text, Durability durability) {
  OutputFile out(path, durability);
  out.append(std::as_bytes(std::span(text.data(), text.size())));
  out.close();
}

void fsync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) io_error("open directory", dir);
  ::fsync(fd);
  ::close(fd);
}

}  // namespace qk
