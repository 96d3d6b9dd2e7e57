#include "arch/expression.hpp"

#include <cctype>
#include <cstdlib>

#include "util/error.hpp"

namespace qk {
namespace {

class Parser {
 public:
  Parser(std::string_view text, const NameLookup& lookup) : text_(text), lookup_(lookup) {}

  std::optional<double> parse() {
    auto value = fallback();
    skip_space();
    if (pos_ != text_.size()) syntax_error("unexpected text");
    return value;
  }

 private:
  std::optional<double> fallback() {
    auto value = sum();
    while (consume("??")) {
      auto alternative = sum();
      if (!value) value = alternative;
    }
    return value;
  }

  std::optional<double> sum() {
    auto value = product();
    for (;;) {
      if (consume("+")) {
        auto rhs = product();
        value = value && rhs ? std::optional(*value + *rhs) : std::nullopt;
      } else if (peek_minus()) {
        ++pos_;
        auto rhs = product();
        value = value && rhs ? std::optional(*value - *rhs) : std::nullopt;
      } else {
        return value;
      }
    }
  }

  std::optional<double> product() {
    auto value = atom();
    for (;;) {
      if (consume("*")) {
        auto rhs = atom();
        value = value && rhs ? std::optional(*value * *rhs) : std::nullopt;
      } else if (consume("/")) {
        auto rhs = atom();
        if (rhs && *rhs == 0) syntax_error("division by zero");
        value = value && rhs ? std::optional(*value / *rhs) : std::nullopt;
      } else {
        return value;
      }
    }
  }

  std::optional<double> atom() {
    skip_space();
    if (consume("(")) {
      auto value = fallback();
      if (!consume(")")) syntax_error("missing ')'");
      return value;
    }
    if (pos_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.')) {
      std::size_t start = pos_;
      while (pos_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.')) ++pos_;
      return std::strtod(std::string(text_.substr(start, pos_ - start)).c_str(), nullptr);
    }
    std::size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_' || text_[pos_] == '.')) ++pos_;
    if (start == pos_) syntax_error("expected a number, a config key or '('");
    return lookup_(text_.substr(start, pos_ - start));
  }

  bool peek_minus() {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == '-';
  }

  bool consume(std::string_view token) {
    skip_space();
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  [[noreturn]] void syntax_error(std::string_view what) {
    fail(ErrorKind::Format, "architecture table expression '{}': {} at position {}", text_, what, pos_);
  }

  std::string_view text_;
  const NameLookup& lookup_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<double> evaluate_expression(std::string_view expression, const NameLookup& lookup) {
  return Parser(expression, lookup).parse();
}

}  // namespace qk
