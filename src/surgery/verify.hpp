// `verify`: recomputes what every tensor of an output must be (SFT's bytes, or the recorded
// method's result from base and SFT) and compares byte for byte, naming each tensor that differs.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "arch/profile.hpp"
#include "io/checkpoint.hpp"

namespace qk {

struct VerifyReport {
  std::size_t tensors_checked = 0;
  std::size_t method_tensors_checked = 0;
  std::size_t files_checked = 0;
  std::uint64_t bytes_compared = 0;
  std::vector<std::string> problems;  // empty: the output is exactly what it should be
};

VerifyReport verify_output(const Checkpoint& base, const Checkpoint& sft, const std::filesystem::path& out, const FamilyTable& table,
                           bool quiet);

}  // namespace qk
