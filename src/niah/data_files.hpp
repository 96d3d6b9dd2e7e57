// Where the shipped NIAH data lives (data/niah in the source tree: word lists and the public-domain
// haystack): --data-dir, else $QK_DATA_DIR, else next to the binary's build or install tree, else ./data/niah.
#pragma once
#include <filesystem>
#include <string>

namespace qk::niah {

std::filesystem::path find_niah_data_dir(const std::string& override_dir = "");
inline constexpr const char* kDefaultHaystackFile = "haystack-kjv.txt";

}  // namespace qk::niah
