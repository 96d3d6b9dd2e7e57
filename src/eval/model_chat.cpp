#include "eval/model_chat.hpp"

#include "niah/prompt_template.hpp"
#include "server/chat_template.hpp"
#include "util/error.hpp"

namespace qk::eval {

std::string model_chat_question_template(const std::filesystem::path& model_dir, const std::vector<Problem>& shots) {
  // A marker no template rewrites, rendered in the question's place and then swapped for "{question}".
  const std::string marker = "\x01QKRESTORE-QUESTION\x01";
  auto messages = nlohmann::ordered_json::array();
  for (const auto& shot : shots) {
    messages.push_back({{"role", "user"}, {"content", shot.question}});
    messages.push_back({{"role", "assistant"}, {"content", shot.solution}});
  }
  messages.push_back({{"role", "user"}, {"content", marker}});
  const std::string text = server::ChatTemplate::from_model_dir(model_dir).render(messages, true);
  if (text.find(marker) == std::string::npos)
    fail(ErrorKind::Unsupported, "the chat template of {} does not show the user's message", model_dir.string());
  return niah::replace_all(text, marker, "{question}");
}

std::optional<std::string> chat_template_source(const std::filesystem::path& model_dir) {
  std::error_code error;
  if (!std::filesystem::is_directory(model_dir, error)) return std::nullopt;
  try {
    // A folder without a template gets the built-in ChatML fallback, which is not the model's own.
    std::string source = server::ChatTemplate::from_model_dir(model_dir).source_name();
    if (source == server::ChatTemplate::chatml().source_name()) return std::nullopt;
    return source;
  } catch (const Error&) {
    return std::nullopt;  // no template, or one that does not parse: nothing to point the user to
  }
}

}  // namespace qk::eval
