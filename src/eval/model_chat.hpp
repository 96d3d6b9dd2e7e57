// For backends that take raw text (the embedded engine): the model's own chat template rendered
// around the question, with k-shot examples as earlier turns, as `serve` renders a chat request.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "eval/problems.hpp"

namespace qk::eval {

// A question template ("{question}" once) cut from the chat template's rendering of
// [shots as user/assistant turns..., user: {question}] with the generation prompt.
std::string model_chat_question_template(const std::filesystem::path& model_dir, const std::vector<Problem>& shots);

// Where `model_dir`'s chat template comes from ("DIR/chat_template.jinja"), or nothing when the folder
// has none (or is not a model folder: a served model's name).
std::optional<std::string> chat_template_source(const std::filesystem::path& model_dir);

}  // namespace qk::eval
