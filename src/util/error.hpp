// Errors are values with a kind and a message that names the file, tensor or field at fault.
// Library code throws qk::Error; only the CLI turns it into a message and an exit status.
#pragma once
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace qk {

enum class ErrorKind {
  Usage,        // bad command-line options or their combination
  Io,           // a file could not be opened, read, written or renamed
  Format,       // a file's content breaks its format (safetensors, JSON, tokenizer.json ...)
  Mismatch,     // base and SFT disagree (model_type, shapes, layer count ...)
  Unsupported,  // a valid input we do not handle (unknown model_type, dtype conversion ...)
  Verify,       // an output differs from what it should be
  Network,      // a server could not be reached or answered badly
};

const char* error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message) : std::runtime_error(std::move(message)), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(kind, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace qk
