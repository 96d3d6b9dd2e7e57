// A Jinja template as Hugging Face chat templates use them, rendered the way @huggingface/jinja (npm)
// renders them (trim_blocks and lstrip_blocks on, as transformers sets them). docs/jinja.md lists what
// is supported. Errors are qk::Error(Format) naming the template and the line:column at fault.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace qk::jinja {

struct Node;

class Template {
 public:
  // name is what errors call the template (a file name, "tokenizer_config.json chat_template").
  Template(std::string source, std::string name);
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // Renders with the context's members as variables; a member that shadows a global (namespace, range,
  // true ...) is an error, as in the reference. max_steps bounds a runaway template: real chat templates
  // take a few dozen evaluations per message, so the default (about a second) is far beyond them.
  static constexpr long long default_max_steps = 10'000'000;
  std::string render(const nlohmann::ordered_json& context, long long max_steps = default_max_steps) const;

  const std::string& source() const { return source_; }

 private:
  std::string source_, name_;
  std::unique_ptr<Node> program_;
  [[noreturn]] void fail_at(std::size_t offset, const std::string& message) const;
};

}  // namespace qk::jinja
