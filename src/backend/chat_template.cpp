#include "backend/chat_template.hpp"

#include <fstream>
#include <sstream>

#include "backend/prompt_template.hpp"
#include "jinja/template.hpp"
#include "util/error.hpp"

namespace qk::backend {

namespace {

using ojson = nlohmann::ordered_json;

// ChatML as the shipped models' own template writes it; a message without text content renders empty.
constexpr const char* kChatML =
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, "{}: cannot be read", path.string());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A special token in tokenizer_config.json is a string or an AddedToken object {"content": ...}.
ojson token_text(const ojson& config, const char* key) {
  if (!config.contains(key)) return nullptr;
  const ojson& t = config[key];
  if (t.is_string()) return t;
  if (t.is_object() && t.contains("content") && t["content"].is_string()) return t["content"];
  return nullptr;
}

// Python's str.strip() whitespace (ASCII plus the common Unicode spaces is all chat text needs).
std::string strip(const std::string& s, bool left, bool right) {
  auto space = [](unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); };
  std::size_t b = 0, e = s.size();
  if (left)
    while (b < e && space(static_cast<unsigned char>(s[b]))) ++b;
  if (right)
    while (e > b && space(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// OpenAI messages as templates expect them (see the header).
ojson template_messages(const ojson& messages) {
  if (!messages.is_array()) fail(ErrorKind::Usage, "'messages' must be a list");
  ojson out = ojson::array();
  for (const auto& m : messages) {
    if (!m.is_object()) fail(ErrorKind::Usage, "each message must be an object");
    ojson message = m;
    if (m.contains("content") && m["content"].is_array()) {
      std::string text;
      bool first = true;
      for (const auto& part : m["content"]) {
        if (!part.is_object() || !part.contains("text") || !part["text"].is_string())
          fail(ErrorKind::Usage, "message content parts must be {{\"type\": \"text\", \"text\": ...}}");
        text += (first ? "" : "\n") + part["text"].get<std::string>();
        first = false;
      }
      message["content"] = text;
    }
    if (m.contains("tool_calls") && m["tool_calls"].is_array()) {
      for (auto& call : message["tool_calls"]) {
        if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) continue;
        auto& function = call["function"];
        if (function.contains("arguments") && function["arguments"].is_string()) {
          try {
            function["arguments"] = ojson::parse(function["arguments"].get<std::string>());
          } catch (const ojson::exception&) {
            fail(ErrorKind::Usage, "tool call arguments are not valid JSON: {}", function["arguments"].get<std::string>());
          }
        }
      }
    }
    out.push_back(std::move(message));
  }
  return out;
}

}  // namespace

ChatTemplate::ChatTemplate(std::string source, std::string source_name, ojson special_tokens)
    : template_(std::make_unique<jinja::Template>(std::move(source), source_name)),
      source_name_(std::move(source_name)),
      special_tokens_(std::move(special_tokens)) {}

ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;

ChatTemplate ChatTemplate::chatml() {
  return ChatTemplate(kChatML, "built-in ChatML", ojson{{"bos_token", nullptr}, {"eos_token", "<|im_end|>"}});
}

ChatTemplate ChatTemplate::from_model_dir(const std::filesystem::path& dir) {
  const auto config_path = dir / "tokenizer_config.json";
  ojson config = ojson::object();
  if (std::filesystem::exists(config_path)) {
    try {
      config = ojson::parse(read_text(config_path));
    } catch (const ojson::exception& e) {
      fail(ErrorKind::Format, "{}: {}", config_path.string(), e.what());
    }
    if (!config.is_object()) fail(ErrorKind::Format, "{}: not a JSON object", config_path.string());
  }
  const ojson tokens{{"bos_token", token_text(config, "bos_token")}, {"eos_token", token_text(config, "eos_token")}};
  if (const auto file = dir / "chat_template.jinja"; std::filesystem::exists(file))
    return ChatTemplate(read_text(file), file.string(), tokens);
  if (config.contains("chat_template")) {
    const ojson& t = config["chat_template"];
    const std::string name = config_path.string() + " chat_template";
    if (t.is_string()) return ChatTemplate(t.get<std::string>(), name, tokens);
    if (t.is_array()) {
      for (const auto& entry : t)
        if (entry.is_object() && entry.value("name", ojson()) == "default" && entry.contains("template") &&
            entry["template"].is_string())
          return ChatTemplate(entry["template"].get<std::string>(), name + " \"default\"", tokens);
      fail(ErrorKind::Format, "{}: the list of chat templates has no \"default\" entry", name);
    }
    if (!t.is_null()) fail(ErrorKind::Format, "{}: must be a string or a list of named templates", name);
  }
  ChatTemplate fallback = chatml();
  fallback.special_tokens_ = tokens;
  return fallback;
}

std::string ChatTemplate::render(const ojson& messages, bool add_generation_prompt, const ojson& extra_kwargs,
                                 const ojson& tools, bool continue_final_message) const {
  if (continue_final_message && add_generation_prompt)
    fail(ErrorKind::Usage, "continue_final_message and add_generation_prompt cannot both be true");
  ojson context;
  context["messages"] = template_messages(messages);
  context["tools"] = tools;
  context["add_generation_prompt"] = add_generation_prompt;
  context["bos_token"] = special_tokens_["bos_token"];
  context["eos_token"] = special_tokens_["eos_token"];
  if (!extra_kwargs.is_null()) {
    if (!extra_kwargs.is_object()) fail(ErrorKind::Usage, "chat template keyword arguments must be an object");
    for (const auto& [key, value] : extra_kwargs.items()) context[key] = value;
  }
  std::string text;
  try {
    text = template_->render(context);
  } catch (const Error& e) {
    fail(ErrorKind::Usage, "the chat template cannot render these messages: {}", e.what());
  }
  if (!continue_final_message) return text;
  // transformers' cut: after the last occurrence of the final message's text (stripped, since
  // templates often trim it), keeping its leading whitespace when the template kept it.
  const ojson& last = context["messages"].empty() ? ojson() : context["messages"].back();
  if (!last.is_object() || !last.contains("content") || !last["content"].is_string())
    fail(ErrorKind::Usage, "continue_final_message needs a final message with text content");
  const std::string final_message = last["content"];
  const std::string stripped = strip(final_message, true, true);
  const std::size_t at = text.rfind(stripped);
  if (at == std::string::npos)
    fail(ErrorKind::Usage, "continue_final_message: the final message does not appear in the rendered chat ({})",
         source_name_);
  const std::string lstripped = strip(final_message, true, false);
  if (text.compare(at, lstripped.size(), lstripped) == 0 && lstripped == final_message)
    return text.substr(0, at + lstripped.size());
  return text.substr(0, at + stripped.size());
}

std::string ruler_model_template(const ChatTemplate& chat_template) {
  // A marker no template rewrites stands for the answer prefix; the cut ends the text right after it.
  const std::string answer = "QKRESTOREANSWERPREFIX";
  const ojson messages = ojson::array({{{"role", "user"}, {"content", "{task_template}"}},
                                       {{"role", "assistant"}, {"content", answer}}});
  std::string text = chat_template.render(messages, false, ojson::object(), nullptr, true);
  const std::size_t first = text.find("{task_template}");
  if (first == std::string::npos || text.find("{task_template}", first + 1) != std::string::npos ||
      text.size() < answer.size() || text.compare(text.size() - answer.size(), answer.size(), answer) != 0)
    fail(ErrorKind::Unsupported, "{}: the chat template does not render one user turn and an assistant turn to continue",
         chat_template.source_name());
  text.resize(text.size() - answer.size());
  return text;
}

std::optional<std::string> own_chat_template_source(const std::filesystem::path& model_dir) {
  std::error_code error;
  if (!std::filesystem::is_directory(model_dir, error)) return std::nullopt;
  try {
    std::string source = ChatTemplate::from_model_dir(model_dir).source_name();
    if (source == ChatTemplate::chatml().source_name()) return std::nullopt;
    return source;
  } catch (const Error&) {
    return std::nullopt;  // no template, or one that does not parse: nothing to point the user to
  }
}

std::string chat_question_template(const ChatTemplate& chat_template, const std::vector<ChatTurn>& examples) {
  // A marker no template rewrites, rendered in the question's place and then swapped for "{question}".
  const std::string marker = "\x01QKRESTORE-QUESTION\x01";
  auto messages = ojson::array();
  for (const auto& turn : examples) messages.push_back({{"role", turn.role}, {"content", turn.content}});
  messages.push_back({{"role", "user"}, {"content", marker}});
  const std::string text = chat_template.render(messages, true);
  if (text.find(marker) == std::string::npos)
    fail(ErrorKind::Unsupported, "{}: the chat template does not show the user's message", chat_template.source_name());
  return replace_all(text, marker, "{question}");
}

}  // namespace qk::backend
