#include "jinja/template.hpp"

#include "jinja/ast.hpp"
#include "jinja/error.hpp"
#include "jinja/interpreter.hpp"
#include "jinja/lexer.hpp"
#include "util/error.hpp"

namespace qk::jinja {

Template::Template(std::string source, std::string name) : source_(std::move(source)), name_(std::move(name)) {
  try {
    program_ = parse(tokenize(source_));
  } catch (const RuntimeError& e) {
    fail_at(e.offset, e.what());
  }
}

Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

void Template::fail_at(std::size_t offset, const std::string& message) const {
  if (offset == RuntimeError::npos) fail(ErrorKind::Format, "{}: {}", name_, message);
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < source_.size(); ++i) {
    if (source_[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(source_[i]) & 0xC0) != 0x80) {
      ++column;
    }
  }
  fail(ErrorKind::Format, "{}:{}:{}: {}", name_, line, column, message);
}

std::string Template::render(const nlohmann::ordered_json& context, long long max_steps) const {
  Env env;
  add_globals(env);
  if (!context.is_object() && !context.is_null()) fail(ErrorKind::Format, "{}: the context must be a JSON object", name_);
  if (context.is_object())
    for (const auto& [key, value] : context.items()) {
      if (env.has_own(key)) fail(ErrorKind::Format, "{}: Variable already declared: {}", name_, key);
      env.set(key, from_json(value));
    }
  try {
    return render_program(*program_, env, max_steps);
  } catch (const RuntimeError& e) {
    fail_at(e.offset, e.what());
  }
}

}  // namespace qk::jinja
