// Helpers shared by the libFuzzer harnesses: a private scratch directory in memory (/dev/shm when
// present) and a rule for which exceptions count as a finding.
//
// The rule: a parser may reject any input, but only with qk::Error, whose message names the file or
// field at fault. Anything else escaping (a nlohmann type_error, std::out_of_range, bad_alloc from a
// lying size) reaches the user as "internal error" and is a bug, so the harness lets it propagate
// and libFuzzer reports it as a crash.
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

#include "util/error.hpp"

namespace qk::fuzz {

inline std::filesystem::path scratch_dir(const std::string& name) {
  const std::filesystem::path root = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  auto dir = root / ("qkfuzz-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `body`; a qk::Error is an accepted rejection, everything else propagates.
template <typename Body>
void expect_only_qk_errors(Body&& body) {
  try {
    body();
  } catch (const qk::Error& e) {
    // An error must say something: an empty message would leave the user guessing.
    if (std::string_view(e.what()).empty()) __builtin_trap();
  }
}

}  // namespace qk::fuzz
