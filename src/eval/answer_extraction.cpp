#include "eval/answers.hpp"

#include <algorithm>
#include <cctype>

namespace qk::eval {

const char* extraction_rule_name(ExtractionRule rule) {
  switch (rule) {
    case ExtractionRule::Boxed: return "boxed";
    case ExtractionRule::Hashes: return "hashes";
    case ExtractionRule::AnswerIs: return "answer_is";
    case ExtractionRule::LastNumber: return "last_number";
    case ExtractionRule::None: return "none";
  }
  return "none";
}

std::string strip_spaces(std::string_view text) {
  constexpr std::string_view spaces = " \t\n\r\f\v";
  const auto begin = text.find_first_not_of(spaces);
  if (begin == std::string_view::npos) return {};
  return std::string(text.substr(begin, text.find_last_not_of(spaces) - begin + 1));
}

namespace {

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

// Position of the last case-insensitive occurrence of `needle` (lower-case ASCII) in `text`.
std::size_t rfind_caseless(std::string_view text, std::string_view needle) {
  if (needle.size() > text.size()) return std::string_view::npos;
  for (std::size_t i = text.size() - needle.size() + 1; i-- > 0;) {
    bool match = true;
    for (std::size_t j = 0; j < needle.size() && match; ++j)
      match = std::tolower(static_cast<unsigned char>(text[i + j])) == needle[j];
    if (match) return i;
  }
  return std::string_view::npos;
}

// The first sentence of `text`: up to a '.' followed by whitespace or the end (a decimal point is
// followed by a digit, so "3.5" stays whole), or a ", " before a word ("12, which is ..."; a tuple's
// "1, 2" goes on), or the end of the line.
std::string_view first_sentence(std::string_view text) {
  const std::size_t line_end = std::min(text.find('\n'), text.size());
  text = text.substr(0, line_end);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '.' && (i + 1 == text.size() || std::isspace(static_cast<unsigned char>(text[i + 1]))))
      return text.substr(0, i);
    if (text[i] == ',' && i + 2 < text.size() && text[i + 1] == ' ' && std::isalpha(static_cast<unsigned char>(text[i + 2])))
      return text.substr(0, i);
  }
  return text;
}

// The last number: -?digits with thousands commas and a decimal part, or a fraction a/b.
std::optional<std::string> last_number(std::string_view text) {
  std::optional<std::string> last;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_ascii_digit(text[i])) {
      ++i;
      continue;
    }
    std::size_t start = i;
    if (start > 0 && text[start - 1] == '-') --start;
    while (i < text.size() && (is_ascii_digit(text[i]) || ((text[i] == ',' || text[i] == '.' || text[i] == '/') &&
                                                       i + 1 < text.size() && is_ascii_digit(text[i + 1]))))
      ++i;
    last = std::string(text.substr(start, i - start));
  }
  return last;
}

}  // namespace

std::optional<std::string> last_boxed_content(std::string_view text) {
  std::size_t best = std::string_view::npos, name_length = 0;
  for (std::string_view name : {std::string_view("\\boxed"), std::string_view("\\fbox")}) {
    const auto at = text.rfind(name);
    if (at != std::string_view::npos && (best == std::string_view::npos || at > best)) best = at, name_length = name.size();
  }
  if (best == std::string_view::npos) return std::nullopt;
  std::size_t i = best + name_length;
  if (i < text.size() && text[i] == ' ') {  // "\boxed 5": the argument runs to the next space or '$'
    const std::size_t start = i + 1;
    std::size_t end = start;
    while (end < text.size() && text[end] != '$' && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    return std::string(text.substr(start, end - start));
  }
  if (i >= text.size() || text[i] != '{') return std::nullopt;
  int depth = 0;
  for (std::size_t j = i; j < text.size(); ++j) {
    if (text[j] == '\\' && j + 1 < text.size()) {  // \{ and \} are literal braces, not grouping
      ++j;
      continue;
    }
    if (text[j] == '{') ++depth;
    if (text[j] == '}' && --depth == 0) return std::string(text.substr(i + 1, j - i - 1));
  }
  return std::nullopt;  // unbalanced: the reply was cut inside the box
}

Extraction extract_answer(std::string_view reply) {
  Extraction out;
  if (const auto close = reply.rfind("</think>"); close != std::string_view::npos) {
    reply = reply.substr(close + 8);
    out.think_dropped = true;
  } else if (reply.find("<think>") != std::string_view::npos) {
    out.think_unclosed = true;
    return out;
  }
  if (auto boxed = last_boxed_content(reply)) {
    out.answer = strip_spaces(*boxed);
    out.rule = ExtractionRule::Boxed;
  } else if (const auto hashes = reply.rfind("####"); hashes != std::string_view::npos) {
    std::string_view rest = reply.substr(hashes + 4);
    out.answer = strip_spaces(rest.substr(0, std::min(rest.find('\n'), rest.size())));
    out.rule = ExtractionRule::Hashes;
  } else {
    const auto is = rfind_caseless(reply, "answer is");
    const auto colon = rfind_caseless(reply, "answer:");
    std::size_t at = std::string_view::npos, skip = 0;
    if (is != std::string_view::npos && (colon == std::string_view::npos || is > colon)) at = is, skip = 9;
    else if (colon != std::string_view::npos) at = colon, skip = 7;
    if (at != std::string_view::npos) {
      std::string_view rest = reply.substr(at + skip);
      if (!rest.empty() && rest[0] == ':') rest.remove_prefix(1);
      out.answer = strip_spaces(first_sentence(rest));
      out.rule = ExtractionRule::AnswerIs;
    }
  }
  if (out.answer.empty()) {
    if (auto number = last_number(reply)) {
      out.answer = *number;
      out.rule = ExtractionRule::LastNumber;
    } else {
      out.rule = ExtractionRule::None;
    }
  }
  return out;
}

}  // namespace qk::eval
