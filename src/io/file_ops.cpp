#include "io/file_ops.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "util/error.hpp"
#include "util/mapped_file.hpp"

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
    report(static_cast<std::uint64_t>(n));
  }
}

}  // namespace

void set_copy_progress_hook(ProgressHook hook, void* context) {
  g_hook = hook;
  g_hook_context = context;
}

OutputFile::OutputFile(const std::filesystem::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) io_error("create", path);
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void OutputFile::append_copy(int source_fd, std::uint64_t source_offset, std::uint64_t length, const std::string& source_label) {
  auto in_offset = static_cast<off_t>(source_offset);
  auto out_offset = static_cast<off_t>(size_);
  std::uint64_t remaining = length;
  bool kernel_copy = true;
  while (remaining > 0 && kernel_copy) {
    ssize_t n = ::copy_file_range(source_fd, &in_offset, fd_, &out_offset, std::min<std::uint64_t>(remaining, 1u << 30), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
      kernel_copy = false;  // fall back to read/write below, from where the kernel stopped
      break;
    }
    if (n < 0) io_error("copy into", path_);
    if (n == 0) fail(ErrorKind::Io, "{} ended early while copying into {} (file truncated while we read it?)", source_label, path_.string());
    remaining -= static_cast<std::uint64_t>(n);
    report(static_cast<std::uint64_t>(n));
  }
  std::vector<std::byte> buffer;
  while (remaining > 0) {
    buffer.resize(std::min<std::uint64_t>(remaining, 8u << 20));
    ssize_t n = ::pread(source_fd, buffer.data(), buffer.size(), in_offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(ErrorKind::Io, "cannot read {}: {}", source_label, std::strerror(errno));
    if (n == 0) fail(ErrorKind::Io, "{} ended early while copying into {}", source_label, path_.string());
    write_fully(fd_, buffer.data(), static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(out_offset), path_);
    in_offset += n;
    out_offset += n;
    remaining -= static_cast<std::uint64_t>(n);
  }
  size_ += length;
}

void OutputFile::append(std::span<const std::byte> bytes) {
  write_fully(fd_, bytes.data(), bytes.size(), size_, path_);
  size_ += bytes.size();
}

void OutputFile::write_at(std::uint64_t offset, std::span<const std::byte> bytes) {
  if (offset + bytes.size() > size_) fail(ErrorKind::Io, "internal: write past the end of {}", path_.string());
  write_fully(fd_, bytes.data(), bytes.size(), offset, path_);
}

void OutputFile::sync_and_close() {
  if (fd_ < 0) return;
  if (::fsync(fd_) != 0) io_error("flush", path_);
  if (::close(fd_) != 0) {
    fd_ = -1;
    io_error("close", path_);
  }
  fd_ = -1;
}

void copy_file_contents(const std::filesystem::path& from, const std::filesystem::path& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) io_error("open", from);
  struct stat st {};
  if (::fstat(in, &st) != 0) {
    ::close(in);
    io_error("stat", from);
  }
  try {
    OutputFile out(to);
    out.append_copy(in, 0, static_cast<std::uint64_t>(st.st_size), from.string());
    out.sync_and_close();
  } catch (...) {
    ::close(in);
    throw;
  }
  ::close(in);
}

void write_text_file(const std::filesystem::path& path, std::string_view text) {
  OutputFile out(path);
  out.append(std::as_bytes(std::span(text.data(), text.size())));
  out.sync_and_close();
}

void fsync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) io_error("open directory", dir);
  ::fsync(fd);
  ::close(fd);
}

}  // namespace qk
