#include "eval/answers.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <optional>
#include <vector>

namespace qk::eval {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

// Index just past the brace group opening at text[open] == '{', or npos when unbalanced.
std::size_t group_end(const std::string& text, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      ++i;
      continue;
    }
    if (text[i] == '{') ++depth;
    if (text[i] == '}' && --depth == 0) return i + 1;
  }
  return std::string::npos;
}

// \text{abc} -> abc for each wrapper command (nested groups kept).
void unwrap_command(std::string& text, std::string_view command) {
  for (std::size_t at = text.find(command); at != std::string::npos; at = text.find(command, at)) {
    const std::size_t open = at + command.size();
    if (open >= text.size() || text[open] != '{') {
      at += command.size();
      continue;
    }
    const std::size_t end = group_end(text, open);
    if (end == std::string::npos) return;
    text = text.substr(0, at) + text.substr(open + 1, end - open - 2) + text.substr(end);
  }
}

// \frac12 -> \frac{1}{2}, \frac1{x} -> \frac{1}{x}, \sqrt2 -> \sqrt{2}: LaTeX takes one token per
// argument when no braces are written; math-verify repairs the same shorthand.
void brace_shorthand_arguments(std::string& text, std::string_view command, int arguments) {
  for (std::size_t at = text.find(command); at != std::string::npos; at = text.find(command, at + 1)) {
    std::size_t i = at + command.size();
    if (i < text.size() && is_alpha(text[i])) continue;  // \fraction, \sqrtx... are other commands
    for (int a = 0; a < arguments && i < text.size(); ++a) {
      if (text[i] == '{') {
        const std::size_t end = group_end(text, i);
        if (end == std::string::npos) return;
        i = end;
      } else {
        text.insert(i + 1, "}");
        text.insert(i, "{");
        i += 3;
      }
    }
  }
}

std::string strip_delimiters(std::string text) {
  text = strip_spaces(text);
  for (auto [open, close] : {std::pair<std::string_view, std::string_view>{"$$", "$$"}, {"$", "$"}, {"\\(", "\\)"},
                             {"\\[", "\\]"}}) {
    if (text.size() >= open.size() + close.size() && text.starts_with(open) && text.ends_with(close))
      text = strip_spaces(text.substr(open.size(), text.size() - open.size() - close.size()));
  }
  if (text.starts_with("\\boxed{") || text.starts_with("\\fbox{")) {
    const std::size_t open = text.find('{');
    if (group_end(text, open) == text.size()) text = text.substr(open + 1, text.size() - open - 2);
  }
  // A brace group around the whole answer only groups ("\boxed{{7}}", "{ \frac{1}{2} }"): math-verify and
  // lm-eval strip it. A set is written \{...\}, whose braces are escaped and stay.
  while (text.size() >= 2 && text.front() == '{' && group_end(text, 0) == text.size())
    text = strip_spaces(text.substr(1, text.size() - 2));
  return text;
}

// "18 dollars", "5 cm", "3.5 hours": a number followed only by words of letters is the number.
void drop_units_after_number(std::string& text) {
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  const std::size_t digits = i;
  while (i < text.size() && (is_digit(text[i]) || text[i] == ',' || text[i] == '.' || text[i] == '/')) ++i;
  if (i == digits || i >= text.size() || text[i] != ' ') return;
  std::size_t j = i;
  bool any_word = false;
  while (j < text.size()) {
    if (text[j] == ' ') {
      ++j;
      continue;
    }
    if (!is_alpha(text[j])) return;
    while (j < text.size() && is_alpha(text[j])) ++j;
    any_word = true;
    if (j < text.size() && text[j] == '.') ++j;  // "5 in." or a sentence's period
  }
  if (any_word) text.resize(i);
}

// An exact rational when the text is an integer, a decimal or a fraction of those; otherwise a
// floating value for what does not fit in 64 bits.
struct Number {
  __int128 numerator = 0, denominator = 1;  // reduced, denominator > 0
  bool operator==(const Number& other) const {
    __int128 left, right;
    if (!__builtin_mul_overflow(numerator, other.denominator, &left) &&
        !__builtin_mul_overflow(other.numerator, denominator, &right))
      return left == right;
    // Beyond 128 bits (fractions of long decimals): equal to 1 part in 1e15 of long doubles.
    const long double a = static_cast<long double>(numerator) / static_cast<long double>(denominator);
    const long double b = static_cast<long double>(other.numerator) / static_cast<long double>(other.denominator);
    return std::fabs(a - b) <= 1e-15L * std::max(std::fabs(a), std::fabs(b));
  }
};

std::optional<Number> parse_decimal(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) negative = s[0] == '-', s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  // Thousands separators only in groups of three ("1,234,567"): "1,2" is a list, not a number.
  std::string digits;
  const std::size_t point = s.find('.');
  std::string_view whole = s.substr(0, point);
  if (whole.find(',') != std::string_view::npos) {
    std::size_t group = 0;
    for (std::size_t i = whole.size(); i-- > 0;) {
      if (whole[i] == ',') {
        if (group != 3 || i == 0) return std::nullopt;
        group = 0;
      } else {
        ++group;
      }
    }
  }
  __int128 numerator = 0, denominator = 1;
  std::size_t significant = 0;
  bool any_digit = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ',' && i < point) continue;
    if (c == '.' && i == point) continue;
    if (!is_digit(c)) return std::nullopt;
    any_digit = true;
    if (++significant > 36) return std::nullopt;  // beyond what 128 bits hold exactly
    numerator = numerator * 10 + (c - '0');
    if (point != std::string_view::npos && i > point) denominator *= 10;
  }
  if (!any_digit) return std::nullopt;
  Number n{negative ? -numerator : numerator, denominator};
  return n;
}

__int128 gcd128(__int128 a, __int128 b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b != 0) {
    const __int128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

std::optional<Number> divide(const Number& a, const Number& b) {
  if (b.numerator == 0) return std::nullopt;
  __int128 numerator, denominator;
  if (__builtin_mul_overflow(a.numerator, b.denominator, &numerator) ||
      __builtin_mul_overflow(a.denominator, b.numerator, &denominator))
    return std::nullopt;
  if (denominator < 0) numerator = -numerator, denominator = -denominator;
  const __int128 g = gcd128(numerator, denominator);
  if (g > 1) numerator /= g, denominator /= g;
  return Number{numerator, denominator};
}

// On normalised text (no spaces): "12", "-3.50", "1,234", "3/4", "\frac{-1}{2}", "-\frac{1}{2}".
std::optional<Number> parse_number(std::string_view s) {
  bool negative = false;
  if (s.starts_with("-\\frac")) negative = true, s.remove_prefix(1);
  if (s.starts_with("\\frac{")) {
    const std::string text(s);
    const std::size_t first_end = group_end(text, 5);
    if (first_end == std::string::npos || first_end >= text.size() || text[first_end] != '{') return std::nullopt;
    const std::size_t second_end = group_end(text, first_end);
    if (second_end != text.size()) return std::nullopt;
    auto top = parse_number(std::string_view(text).substr(6, first_end - 7));
    auto bottom = parse_number(std::string_view(text).substr(first_end + 1, second_end - first_end - 2));
    if (!top || !bottom) return std::nullopt;
    auto value = divide(*top, *bottom);
    if (value && negative) value->numerator = -value->numerator;
    return value;
  }
  if (negative) return std::nullopt;
  if (const std::size_t slash = s.find('/'); slash != std::string_view::npos) {
    auto top = parse_decimal(s.substr(0, slash));
    auto bottom = parse_decimal(s.substr(slash + 1));
    if (!top || !bottom) return std::nullopt;
    return divide(*top, *bottom);
  }
  auto value = parse_decimal(s);
  if (!value) return std::nullopt;
  return divide(*value, Number{1, 1});  // reduce
}

enum class Shape { Scalar, Set, Tuple, List };

// Top-level elements of "{a,b}", "(a,b)", "[a,b]" or "a,b" (commas inside groups stay); a bare
// comma list only when it is not a number with thousands separators.
Shape split_elements(const std::string& text, std::vector<std::string>& elements, char& bracket) {
  std::string_view body = text;
  Shape shape = Shape::List;
  bracket = 0;
  auto wrapped = [&](std::string_view open, std::string_view close) {
    return body.size() >= open.size() + close.size() && body.starts_with(open) && body.ends_with(close);
  };
  if (wrapped("\\{", "\\}")) body = body.substr(2, body.size() - 4), shape = Shape::Set;
  else if (wrapped("{", "}") && group_end(text, 0) == text.size()) body = body.substr(1, body.size() - 2), shape = Shape::Set;
  else if (wrapped("(", ")") || wrapped("[", "]")) bracket = body[0], body = body.substr(1, body.size() - 2), shape = Shape::Tuple;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= body.size(); ++i) {
    const char c = i < body.size() ? body[i] : ',';
    if (c == '{' || c == '(' || c == '[') ++depth;
    if (c == '}' || c == ')' || c == ']') --depth;
    if (c == ',' && depth == 0) {
      elements.emplace_back(body.substr(start, i - start));
      start = i + 1;
    }
  }
  if (shape == Shape::List && (elements.size() < 2 || parse_number(text))) return Shape::Scalar;
  if (shape == Shape::Tuple && elements.size() < 2) return Shape::Scalar;  // "(5)" is a parenthesised scalar
  return shape;
}

bool scalars_equivalent(const std::string& predicted, const std::string& gold) {
  if (predicted == gold) return true;
  const auto a = parse_number(predicted), b = parse_number(gold);
  return a && b && *a == *b;
}

bool normalized_equivalent(const std::string& predicted, const std::string& gold) {
  if (scalars_equivalent(predicted, gold)) return true;
  std::vector<std::string> gold_elements, predicted_elements;
  char gold_bracket = 0, predicted_bracket = 0;
  const Shape gold_shape = split_elements(gold, gold_elements, gold_bracket);
  if (gold_shape == Shape::Scalar) return false;
  const Shape predicted_shape = split_elements(predicted, predicted_elements, predicted_bracket);
  if (predicted_elements.size() != gold_elements.size()) return false;
  if (gold_shape == Shape::Tuple) {  // ordered, and "(1,2)" (open interval or pair) is not "[1,2]"
    if (predicted_shape != Shape::Tuple || predicted_bracket != gold_bracket) return false;
    for (std::size_t i = 0; i < gold_elements.size(); ++i)
      if (!normalized_equivalent(predicted_elements[i], gold_elements[i])) return false;
    return true;
  }
  if (predicted_shape == Shape::Tuple || predicted_shape == Shape::Scalar) return false;
  std::vector<bool> used(predicted_elements.size(), false);  // sets and bare lists: any order
  for (const auto& g : gold_elements) {
    bool found = false;
    for (std::size_t i = 0; i < predicted_elements.size() && !found; ++i)
      if (!used[i] && normalized_equivalent(predicted_elements[i], g)) used[i] = found = true;
    if (!found) return false;
  }
  return true;
}

}  // namespace

std::string normalize_answer(std::string_view answer) {
  std::string text = strip_delimiters(std::string(answer));
  for (std::string_view command : {"\\text", "\\textbf", "\\textit", "\\mathrm", "\\mathbf", "\\mbox", "\\operatorname"})
    unwrap_command(text, command);
  for (auto [from, to] : {std::pair<std::string_view, std::string_view>{"\\dfrac", "\\frac"},
                          {"\\tfrac", "\\frac"},
                          {"\\left", ""},
                          {"\\right", ""},
                          {"\\displaystyle", ""},
                          {"^{\\circ}", ""},
                          {"^\\circ", ""},
                          {"\\circ", ""},
                          {"\\%", ""},
                          {"%", ""},
                          {"\\$", ""},
                          {"$", ""},
                          {"\xE2\x82\xAC", ""},  // €
                          {"\xC2\xA3", ""},      // £
                          {"\\!", ""},
                          {"\\,", ""},
                          {"\\;", ""},
                          {"\\:", ""},
                          {"\\ ", " "},
                          {"~", " "},
                          {"{,}", ","},  // LaTeX's thousands separator: 1{,}000
                          {"**", ""},    // Markdown bold around an answer
                          {"\\cdot", "*"},
                          {"\\times", "*"}})
    replace_all(text, from, to);
  text = strip_spaces(text);
  while (!text.empty() && (text.back() == '.' || text.back() == ',')) text.pop_back();
  drop_units_after_number(text);
  text.erase(std::remove_if(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c); }), text.end());
  brace_shorthand_arguments(text, "\\frac", 2);
  brace_shorthand_arguments(text, "\\sqrt", 1);
  // "x=5", "y=\frac{1}{2}": the value of a single named variable.
  if (const auto eq = text.find('='); eq != std::string::npos && eq > 0 && eq + 1 < text.size() &&
                                     text.find('=', eq + 1) == std::string::npos &&
                                     std::all_of(text.begin(), text.begin() + eq, [](char c) { return is_alpha(c) || c == '_' || c == '\\'; }))
    text = text.substr(eq + 1);
  // "(C)" or "\text{(C)}": a multiple-choice letter.
  if (text.size() == 3 && text[0] == '(' && text[2] == ')' && is_alpha(text[1])) text = text.substr(1, 1);
  return text;
}

bool answers_equivalent(std::string_view predicted, std::string_view gold) {
  if (strip_spaces(predicted).empty()) return false;
  return normalized_equivalent(normalize_answer(predicted), normalize_answer(gold));
}

std::string canonical_answer(std::string_view answer) {
  std::string text = normalize_answer(answer);
  if (const auto value = parse_number(text)) {
    auto to_string = [](__int128 v) {
      if (v == 0) return std::string("0");
      const bool negative = v < 0;
      std::string digits;
      for (; v != 0; v /= 10) digits.push_back(static_cast<char>('0' + static_cast<int>(negative ? -(v % 10) : v % 10)));
      if (negative) digits.push_back('-');
      return std::string(digits.rbegin(), digits.rend());
    };
    return value->denominator == 1 ? to_string(value->numerator)
                                   : to_string(value->numerator) + "/" + to_string(value->denominator);
  }
  return text;
}

}  // namespace qk::eval
