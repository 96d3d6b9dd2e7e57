#include "niah/sample_jsonl.hpp"

#include <fstream>

#include "util/error.hpp"

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
  return j;
}

template <typename T>
static T field(const nlohmann::json& j, const char* name, const std::string& where) {
  if (!j.contains(name)) fail(ErrorKind::Format, "{}: missing field \"{}\"", where, name);
  try {
    return j.at(name).get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(ErrorKind::Format, "{}: field \"{}\" has the wrong type", where, name);
  }
}

Sample sample_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail(ErrorKind::Format, "{}: not a JSON object", where);
  Sample s;
  s.index = field<int>(j, "index", where);
  s.input = field<std::string>(j, "input", where);
  s.outputs = field<std::vector<std::string>>(j, "outputs", where);
  s.length = j.value("length", 0);
  s.length_w_model_temp = j.value("length_w_model_temp", s.length);
  s.answer_prefix = j.value("answer_prefix", std::string());
  s.token_position_answer = j.value("token_position_answer", 0);
  // Files made by RULER itself lack our fields: fall back to what can be inferred.
  s.task = j.value("task", std::string("niah"));
  s.max_seq_length = j.value("max_seq_length", s.length);
  s.id = j.value("id", fmt::format("{}/{}/{}", s.task, s.max_seq_length, s.index));
  if (j.contains("depth_percent") && j["depth_percent"].is_number()) s.depth_percent = j["depth_percent"].get<double>();
  if (j.contains("needle_depths") && j["needle_depths"].is_array()) s.needle_depths = j["needle_depths"].get<std::vector<double>>();
  if (j.contains("grid_depth") && j["grid_depth"].is_number()) s.grid_depth = j["grid_depth"].get<double>();
  s.num_haystack = j.value("num_haystack", std::size_t{0});
  s.haystack = j.value("haystack", std::string());
  s.template_name = j.value("template", std::string());
  s.seed = j.value("seed", std::uint64_t{0});
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
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorKind::Format, "{}: invalid JSON ({})", where, e.what());
    }
    Sample s = sample_from_json(j, where);
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
  try {
    return sample_from_json(nlohmann::json::parse(line), where);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::Format, "{}: invalid JSON ({})", where, e.what());
  }
}

}  // namespace qk::niah
