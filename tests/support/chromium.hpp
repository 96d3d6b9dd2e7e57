// Headless Chromium for the report tests: a page must render in a real browser. Chromium is a test
// dependency (scripts/install-deps.sh installs it).
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>

#include <sys/wait.h>

namespace qk::test {

inline std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    const std::string probe = std::string("command -v ") + name + " >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return name;
  }
  return "";
}

// Runs Chromium headless on a local file with `action` ("--dump-dom" or "--screenshot=PATH"), output to
// `stdout_path` (its stderr beside it, with ".err" appended); returns true when it exited 0. The profile
// lives in `scratch`.
inline bool run_chromium(const std::string& chromium, const std::filesystem::path& scratch, const std::filesystem::path& page,
                         const std::string& action, const std::filesystem::path& stdout_path, int width = 1280,
                         int height = 1400) {
  const std::string flags = " --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking"
                            " --disable-component-update --disable-sync --disable-dev-shm-usage --user-data-dir=" +
                            (scratch / "profile").string() + " --window-size=" + std::to_string(width) + "," +
                            std::to_string(height) + " ";
  const std::string env = "HOME=" + scratch.string() + " timeout 120 ";
  const int status = std::system((env + chromium + flags + action + " file://" + page.string() + " >" +
                                  stdout_path.string() + " 2>" + stdout_path.string() + ".err").c_str());
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace qk::test
