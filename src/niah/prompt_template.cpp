#include "niah/prompt_template.hpp"

#include <fstream>
#include <sstream>
#include <vector>

#include "util/error.hpp"

namespace qk::niah {

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  if (from.empty()) return text;
  std::string out;
  out.reserve(text.size());
  std::size_t start = 0;
  for (std::size_t at; (at = text.find(from, start)) != std::string::npos; start = at + from.size()) {
    out.append(text, start, at - start);
    out.append(to);
  }
  out.append(text, start);
  return out;
}

ModelTemplate builtin_model_template(std::string_view name) {
  // base and llama-3 are RULER's 'base' and 'meta-llama3'; chatml is the Qwen / ChatML user turn.
  if (name == "base") return {"base", "{task_template}"};
  if (name == "chatml") return {"chatml", "<|im_start|>user\n{task_template}<|im_end|>\n<|im_start|>assistant\n"};
  if (name == "llama-3" || name == "llama3" || name == "meta-llama3")
    return {"llama-3",
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{task_template}<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n"};
  fail(ErrorKind::Usage, "unknown prompt template '{}' (expected base, chatml, llama-3, or --template-file)", name);
}

ModelTemplate model_template_from_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, "cannot open template file {}", path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  std::size_t first = text.find("{task_template}");
  if (first == std::string::npos || text.find("{task_template}", first + 1) != std::string::npos)
    fail(ErrorKind::Format, "template file {} must contain {{task_template}} exactly once", path.string());
  return {"file:" + path.string(), text};
}

std::string join_queries(const std::vector<std::string>& keys) {
  if (keys.size() == 1) return keys[0];
  std::string out;
  for (std::size_t i = 0; i + 1 < keys.size(); ++i) out += (i ? ", " : "") + keys[i];
  return out + ", and " + keys.back();
}

std::string format_needle(std::string_view type_needle_v, std::string_view key, std::string_view value) {
  std::string needle(kNeedle);
  needle = replace_all(needle, "{type_needle_v}", type_needle_v);
  needle = replace_all(needle, "{key}", key);
  return replace_all(needle, "{value}", value);
}

PromptFrame build_prompt_frame(const ModelTemplate& model, std::string_view type_needle_v, std::string_view query,
                               bool single_answer) {
  std::string full = replace_all(model.text, "{task_template}", kTaskTemplate) + std::string(kAnswerPrefix);
  std::string value_type(type_needle_v);
  if (single_answer) {
    full = replace_all(full, "Some", "A");
    full = replace_all(full, "are all", "is");
    full = replace_all(full, "are", "is");
    full = replace_all(full, "answers", "answer");
    if (!value_type.empty()) value_type.pop_back();
  }
  // Python's str.format fills every field at once; filling all but {context} first is the same
  // because none of the values can contain a field name.
  full = replace_all(full, "{type_needle_v}", value_type);
  full = replace_all(full, "{query}", query);
  std::size_t context_at = full.find("{context}");
  if (context_at == std::string::npos) fail(ErrorKind::Format, "prompt template lost its {{context}} field");
  PromptFrame frame;
  frame.head = full.substr(0, context_at);
  frame.tail = full.substr(context_at + std::string_view("{context}").size());
  // RULER: input_text.rfind(answer_prefix[:10]); the first 10 characters are " The speci".
  std::size_t prefix_at = frame.tail.rfind(std::string(kAnswerPrefix.substr(0, 10)));
  if (prefix_at == std::string::npos) fail(ErrorKind::Format, "prompt template lost its answer prefix");
  frame.answer_prefix_offset = prefix_at;
  return frame;
}

}  // namespace qk::niah
