// RULER's NIAH prompt: the task template and answer prefix (scripts/data/synthetic/constants.py), the
// singular rewrite for one-answer tasks (niah.py), and the split of the filled prompt into the text
// before and after the haystack. The model template that wraps the task is the backend wing's
// (backend/prompt_template.hpp).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "backend/prompt_template.hpp"

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
PromptFrame build_prompt_frame(const backend::ModelTemplate& model, std::string_view type_needle_v,
                               std::string_view query, bool single_answer);

// "k1", "k1, and k2", "k1, k2, and k3": RULER's ', '.join(q[:-1]) + ', and ' + q[-1].
std::string join_queries(const std::vector<std::string>& keys);

std::string format_needle(std::string_view type_needle_v, std::string_view key, std::string_view value);

}  // namespace qk::niah
