// std::filesystem calls that throw Error(Io) naming the path, instead of a filesystem_error escaping
// past qk::Error (a permission problem, a file where a folder should be).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace qk {

std::string read_text_file(const std::filesystem::path& path);  // the whole file, as bytes
// Creates or replaces the file with `text` (reports and summaries; outputs that must never be seen
// half-written use io/file_ops.hpp's write_text_file instead).
void write_whole_file(const std::filesystem::path& path, std::string_view text);
bool path_exists(const std::filesystem::path& path);
void make_directories(const std::filesystem::path& dir);
void rename_path(const std::filesystem::path& from, const std::filesystem::path& to);
void remove_file(const std::filesystem::path& path);  // a missing file is no error
void truncate_file(const std::filesystem::path& path, std::uint64_t size);

}  // namespace qk
