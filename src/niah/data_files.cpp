#include "niah/data_files.hpp"

#include <cstdlib>
#include <vector>

#include "util/error.hpp"

namespace qk::niah {

static bool holds_niah_data(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::exists(dir / "adjectives.txt", ec) && std::filesystem::exists(dir / "nouns.txt", ec);
}

std::filesystem::path find_niah_data_dir(const std::string& override_dir) {
  if (!override_dir.empty()) {
    if (!holds_niah_data(override_dir))
      fail(ErrorKind::Io, "--data-dir {} holds no adjectives.txt and nouns.txt", override_dir);
    return override_dir;
  }
  std::vector<std::filesystem::path> candidates;
  if (const char* env = std::getenv("QK_DATA_DIR")) candidates.emplace_back(std::filesystem::path(env) / "niah");
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    // build trees sit in the repository root (build/, build-x/); installs put data in share/.
    for (auto dir = exe.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
      candidates.push_back(dir / "data" / "niah");
      candidates.push_back(dir / "share" / "qkrestore" / "niah");
    }
  }
  candidates.emplace_back(std::filesystem::path("data") / "niah");
  for (const auto& dir : candidates)
    if (holds_niah_data(dir)) return dir;
  fail(ErrorKind::Io, "cannot find the NIAH data folder (data/niah with adjectives.txt, nouns.txt); pass --data-dir");
}

}  // namespace qk::niah
