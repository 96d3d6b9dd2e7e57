#include "niah/ruler_prompt.hpp"

#include "util/error.hpp"

namespace qk::niah {

using backend::replace_all;

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

PromptFrame build_prompt_frame(const backend::ModelTemplate& model, std::string_view type_needle_v,
                               std::string_view query, bool single_answer) {
  std::string full = backend::fill_model_template(model, kTaskTemplate) + std::string(kAnswerPrefix);
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
