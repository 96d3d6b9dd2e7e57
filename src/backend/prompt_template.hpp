// What the model sees around a task's text, and the one policy that picks it for every task (NIAH's
// `niah generate`, reasoning's `eval run`, `sweep`):
//  - a built-in model template (RULER's base and meta-llama3, ChatML), or the user's own file;
//  - the model's own chat template: sent as chat messages to a server that applies it (--api chat), or
//    rendered here (backend/chat_template.hpp) for backends that take raw text (the embedded engine).
// A model template holds "{task_template}" once (RULER's field); question templates hold "{question}".
#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.hpp"

namespace qk::backend {

// RULER appends the answer prefix after a model template, so the prefix opens the assistant turn of
// chat templates.
struct ModelTemplate {
  std::string name;  // base | chatml | llama-3 | file:<path> | model:<chat template source>
  std::string text;  // "{task_template}" once
};

ModelTemplate builtin_model_template(std::string_view name);  // throws Usage for unknown names
ModelTemplate model_template_from_file(const std::filesystem::path& path);
// The model template with the task's text in its "{task_template}" field.
std::string fill_model_template(const ModelTemplate& model, std::string_view task);

// Where the template comes from, as the user chose it.
enum class TemplateSource {
  Builtin,    // base | chatml | llama-3
  File,       // the user's file
  ModelChat,  // the model's own chat template
};

struct TemplateChoice {
  TemplateSource source = TemplateSource::Builtin;
  std::string builtin = "base";     // Builtin
  std::filesystem::path file{};       // File ({}: designated initializers may leave it out without a warning)
  std::filesystem::path model_dir{};  // ModelChat: the folder holding chat_template.jinja / tokenizer_config.json
};

// NIAH's model template for a choice: ModelChat renders the chat template for one user turn continued
// into the assistant's (ruler_model_template), so RULER's answer prefix opens the answer.
ModelTemplate model_template(const TemplateChoice& choice);

// How questions reach the model.
struct QuestionTemplate {
  bool chat = false;                // chat messages, k-shot examples as earlier turns; the server applies the template
  std::string text = "{question}";  // raw text: "{question}" once
  bool holds_examples = false;      // raw text: the k-shot examples are rendered into it already (as chat turns)
};

// The question template for a choice and a backend. ModelChat goes as chat when the backend takes chat
// messages (a server's /v1/chat/completions); otherwise the chat template is rendered here around the
// examples (user/assistant turns) and the question, with the generation prompt, as `serve` would.
QuestionTemplate question_template(const TemplateChoice& choice, bool backend_takes_chat,
                                   const std::vector<ChatTurn>& examples);

std::string replace_all(std::string text, std::string_view from, std::string_view to);

}  // namespace qk::backend
