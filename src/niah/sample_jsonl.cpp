#include "niah/sample_jsonl.hpp"

#include <fstream>

#include "util/error.hpp"
#include "util/json.hpp"

namespace qk::niah {

nlohmann::ordered_json sample_to_json(const Sample& s) {
  nlohmann::ordered_json j;
  j["index"] = s.index;
  j["input"] = s.input;
  j["outputs"] = s.outputs;
  j["length"] = s.length;
  j["length_w_model_temp"] = s.length_w_model_temp;
  j["answer_prefix"] = s.answer_prefix;
  j["token_position_answer"] = s.token_position_answer;
  j["id"] = s.id;
  j["task"] = s.task;
  j["max_seq_length"] = s.max_seq_length;
  j["depth_percent"] = s.depth_percent;
  j["needle_depths"] = s.needle_depths;
  j["grid_depth"] = s.grid_depth ? nlohmann::ordered_json(*s.grid_depth) : nlohmann::ordered_json(nullptr);
  j["num_haystack"] = s.num_haystack;
  j["haystack"] = s.haystack;
  j["template"] = s.template_name;
  j["seed"] = s.seed;
  j["generator_version"] = s.generator_version;
  return j;
}

Sample sample_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail(ErrorKind::Format, "{}: not a JSON object", where);
  Sample s;
  s.index = field<int>(j, "index", where);
  s.input = field<std::string>(j, "input", where);
  s.outputs = field<std::vector<std::string>>(j, "outputs", where);
  s.length = field_or<int>(j, "length", where, 0);
  s.length_w_model_temp = field_or<int>(j, "length_w_model_temp", where, s.length);
  s.answer_prefix = field_or<std::string>(j, "answer_prefix", where, "");
  s.token_position_answer = field_or<int>(j, "token_position_answer", where, 0);
  // Files made by RULER itself lack our fields: fall back to what can be inferred.
  s.task = field_or<std::string>(j, "task", where, "niah");
  s.max_seq_length = field_or<int>(j, "max_seq_length", where, s.length);
  s.id = field_or<std::string>(j, "id", where, fmt::format("{}/{}/{}", s.task, s.max_seq_length, s.index));
  if (j.contains("depth_percent") && j["depth_percent"].is_number()) s.depth_percent = j["depth_percent"].get<double>();
  if (j.contains("needle_depths") && j["needle_depths"].is_array()) s.needle_depths = field<std::vector<double>>(j, "needle_depths", where);
  if (j.contains("grid_depth") && j["grid_depth"].is_number()) s.grid_depth = j["grid_depth"].get<double>();
  s.num_haystack = field_or<std::size_t>(j, "num_haystack", where, 0);
  s.haystack = field_or<std::string>(j, "haystack", where, "");
  s.template_name = field_or<std::string>(j, "template", where, "");
  s.seed = field_or<std::uint64_t>(j, "seed", where, 0);
  s.generator_version = field_or<int>(j, "generator_version", where, 1);
  return s;
}

std::vector<SampleLocation> index_task_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, "cannot open task file {}", path.string());
  std::vector<SampleLocation> out;
  std::string line;
  std::uint64_t offset = 0;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    const std::uint64_t start = offset;
    offset += line.size() + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", path.string(), number);
    Sample s = sample_from_json(parse_json(line, where), where);
    out.push_back({s.id, s.task, s.max_seq_length, start, number});
  }
  return out;
}

Sample read_sample_at(const std::filesystem::path& path, const SampleLocation& location) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, "cannot open task file {}", path.string());
  in.seekg(static_cast<std::streamoff>(location.offset));
  std::string line;
  std::getline(in, line);
  const std::string where = fmt::format("{}:{}", path.string(), location.line);
  return sample_from_json(parse_json(line, where), where);
}

}  // namespace qk::niah
