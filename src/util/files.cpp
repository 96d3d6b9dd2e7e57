#include "util/files.hpp"

#include <fstream>
#include <sstream>

#include "util/error.hpp"

namespace qk {

namespace fs = std::filesystem;

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, "cannot read {}", path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) fail(ErrorKind::Io, "cannot read {}", path.string());
  return buffer.str();
}

void write_whole_file(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(ErrorKind::Io, "cannot write {}", path.string());
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) fail(ErrorKind::Io, "writing {} failed", path.string());
}

bool path_exists(const fs::path& path) {
  std::error_code ec;
  const bool exists = fs::exists(path, ec);
  if (ec) fail(ErrorKind::Io, "cannot look at {}: {}", path.string(), ec.message());
  return exists;
}

void make_directories(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(ErrorKind::Io, "cannot create the folder {}: {}", dir.string(), ec.message());
}

void rename_path(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) fail(ErrorKind::Io, "cannot rename {} to {}: {}", from.string(), to.string(), ec.message());
}

void remove_file(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) fail(ErrorKind::Io, "cannot remove {}: {}", path.string(), ec.message());
}

void truncate_file(const fs::path& path, std::uint64_t size) {
  std::error_code ec;
  fs::resize_file(path, size, ec);
  if (ec) fail(ErrorKind::Io, "cannot truncate {}: {}", path.string(), ec.message());
}

}  // namespace qk
