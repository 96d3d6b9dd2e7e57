// The task JSONL: one Sample a line, RULER's fields first. Readers stream it, because a 1M-token
// evaluation set can be far larger than memory.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "niah/sample_generator.hpp"

namespace qk::niah {

nlohmann::ordered_json sample_to_json(const Sample& sample);
Sample sample_from_json(const nlohmann::json& line, const std::string& where);  // where: "file:line" for errors

// Where each sample's line starts, so a runner can read one sample at a time.
struct SampleLocation {
  std::string id;
  std::string task;
  int max_seq_length = 0;
  std::uint64_t offset = 0;
  std::size_t line = 0;  // 1-based, for messages
};
std::vector<SampleLocation> index_task_file(const std::filesystem::path& path);
Sample read_sample_at(const std::filesystem::path& path, const SampleLocation& location);

}  // namespace qk::niah
