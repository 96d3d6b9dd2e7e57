// An error while lexing, parsing or rendering a template, before the template's name and the line and
// column of the node at fault are known; Template turns it into qk::Error(Format).
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>

namespace qk::jinja {

class RuntimeError : public std::runtime_error {
 public:
  explicit RuntimeError(const std::string& message, std::size_t offset = npos)
      : std::runtime_error(message), offset(offset) {}
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::size_t offset;  // in the template's source; npos until a node claims the error
};

// Throws a RuntimeError that the innermost node evaluating it will position.
[[noreturn]] inline void raise(const std::string& message) { throw RuntimeError(message); }

}  // namespace qk::jinja
