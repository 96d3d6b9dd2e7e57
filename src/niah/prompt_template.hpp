// RULER's NIAH prompt: the task template and answer prefix (scripts/data/synthetic/constants.py), the
// model templates that wrap them (scripts/data/template.py), the singular rewrite for one-answer
// tasks (niah.py), and the split of the filled prompt into the text before and after the haystack.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace qk::niah {

inline constexpr std::string_view kTaskTemplate =
    "Some special magic {type_needle_v} are hidden within the following text. Make sure to memorize it. "
    "I will quiz you about the {type_needle_v} afterwards.\n{context}\nWhat are all the special magic "
    "{type_needle_v} for {query} mentioned in the provided text?";
inline constexpr std::string_view kAnswerPrefix =
    " The special magic {type_needle_v} for {query} mentioned in the provided text are";
inline constexpr std::string_view kNeedle = "One of the special magic {type_needle_v} for {key} is: {value}.";
inline constexpr std::string_view kNoiseBlock =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

// A model template holds "{task_template}" once; RULER appends the answer prefix after it, so the
// prefix opens the assistant turn of chat templates.
struct ModelTemplate {
  std::string name;  // base | chatml | llama-3 | file:<path>
  std::string text;
};

ModelTemplate builtin_model_template(std::string_view name);  // throws Usage for unknown names
ModelTemplate model_template_from_file(const std::filesystem::path& path);

// The prompt of one sample with the haystack left out: prompt = head + context + tail, and the answer
// prefix is the end of tail, starting at answer_prefix_offset (RULER's rfind of its first 10 chars).
struct PromptFrame {
  std::string head;
  std::string tail;
  std::size_t answer_prefix_offset;  // into tail
};

// RULER: template = model_template.format(task_template=TASK) + ANSWER_PREFIX; with a single answer
// (queries x values == 1) replace 'Some'->'A', 'are all'->'is', 'are'->'is', 'answers'->'answer' in the
// whole template and drop the plural 's' of the value type; then format type_needle_v and query.
PromptFrame build_prompt_frame(const ModelTemplate& model, std::string_view type_needle_v, std::string_view query,
                               bool single_answer);

// "k1", "k1, and k2", "k1, k2, and k3": RULER's ', '.join(q[:-1]) + ', and ' + q[-1].
std::string join_queries(const std::vector<std::string>& keys);

std::string format_needle(std::string_view type_needle_v, std::string_view key, std::string_view value);

std::string replace_all(std::string text, std::string_view from, std::string_view to);

}  // namespace qk::niah
