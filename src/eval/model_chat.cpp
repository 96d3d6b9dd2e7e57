#include "eval/model_chat.hpp"

#include "niah/prompt_template.hpp"
#include "server/chat_template.hpp"
#include "util/error.hpp"

namespace qk::eval {

std::string model_chat_question_template(const std::filesystem::path& model_dir, const std::vector<Problem>& shots) {
  // A marker no template rewrites, rendered in the question's place and then swapped for "{question}".
  const std::string marker = "\x01QKRESTORE-QUESTION\x01";
  std::vector<server::ChatMessage> messages;
  for (const auto& shot : shots) {
    messages.push_back({"user", shot.question});
    messages.push_back({"assistant", shot.solution});
  }
  messages.push_back({"user", marker});
  const std::string text = server::render_chat(server::detect_chat_format(model_dir), messages, true, false);
  if (text.find(marker) == std::string::npos)
    fail(ErrorKind::Unsupported, "the chat template of {} does not show the user's message", model_dir.string());
  return niah::replace_all(text, marker, "{question}");
}

}  // namespace qk::eval
