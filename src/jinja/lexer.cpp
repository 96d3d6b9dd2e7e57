#include "jinja/lexer.hpp"

#include <cstdint>
#include <string_view>

#include <fmt/format.h>

#include "jinja/error.hpp"
#include "jinja/text.hpp"
#include "util/json.hpp"
#include "util/utf8.hpp"

namespace qk::jinja {

const char* token_type_name(TokenType type) {
  static const char* const names[] = {
      "Text", "NumericLiteral", "StringLiteral", "Identifier", "Equals", "OpenParen", "CloseParen", "OpenStatement",
      "CloseStatement", "OpenExpression", "CloseExpression", "OpenSquareBracket", "CloseSquareBracket",
      "OpenCurlyBracket", "CloseCurlyBracket", "Comma", "Dot", "Colon", "Pipe", "AdditiveBinaryOperator",
      "MultiplicativeBinaryOperator", "ExponentiationBinaryOperator", "ComparisonBinaryOperator", "UnaryOperator",
      "Comment"};
  return names[static_cast<int>(type)];
}

namespace {

// Text after a rewriting step, with each byte's offset in the original source (for error positions).
struct Mapped {
  std::string text;
  std::vector<std::size_t> origin;
  void push(const Mapped& from, std::size_t i) {
    text += from.text[i];
    origin.push_back(from.origin[i]);
  }
  void push_range(const Mapped& from, std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) push(from, i);
  }
};

// JavaScript's multiline ^ matches after \n, \r, U+2028 and U+2029.
bool at_line_start(const std::string& s, std::size_t i) {
  if (i == 0) return true;
  const char c = s[i - 1];
  if (c == '\n' || c == '\r') return true;
  return i >= 3 && s.compare(i - 3, 2, "\xE2\x80") == 0 && (s[i - 1] == '\xA8' || s[i - 1] == '\xA9');
}

Mapped preprocess(const std::string& source) {
  Mapped m;
  m.text = source;
  for (std::size_t i = 0; i < source.size(); ++i) m.origin.push_back(i);
  // A single trailing newline is dropped, as Jinja does by default.
  if (!m.text.empty() && m.text.back() == '\n') {
    m.text.pop_back();
    m.origin.pop_back();
  }
  // lstrip_blocks: /^[ \t]*({[#%-])/gm -> "$1"
  Mapped l;
  for (std::size_t i = 0; i < m.text.size();) {
    if (at_line_start(m.text, i)) {
      std::size_t j = i;
      while (j < m.text.size() && (m.text[j] == ' ' || m.text[j] == '\t')) ++j;
      if (j + 1 < m.text.size() && m.text[j] == '{' &&
          (m.text[j + 1] == '#' || m.text[j + 1] == '%' || m.text[j + 1] == '-')) {
        l.push_range(m, j, j + 2);
        i = j + 2;
        continue;
      }
    }
    l.push(m, i++);
  }
  // trim_blocks: /([#%-]})\n/g -> "$1"
  Mapped t;
  for (std::size_t i = 0; i < l.text.size();) {
    const char c = l.text[i];
    if ((c == '#' || c == '%' || c == '-') && i + 2 < l.text.size() && l.text[i + 1] == '}' && l.text[i + 2] == '\n') {
      t.push_range(l, i, i + 2);
      i += 3;
      continue;
    }
    t.push(l, i++);
  }
  // transformers' {% generation %} / {% endgeneration %} tags are removed, honouring - on either side:
  // /(\s*){%(-?)\s*(?:end)?generation\s*(-?)%}(\s*)/gs -> (lstrip ? "" : before) + (rstrip ? "" : after)
  Mapped g;
  const std::string& s = t.text;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t j = i;
    while (std::size_t n = text::space_at(s, j)) j += n;
    std::size_t k = j;
    bool matched = false, lstrip = false, rstrip = false;
    if (s.compare(k, 2, "{%") == 0) {
      k += 2;
      if (k < s.size() && s[k] == '-') lstrip = true, ++k;
      while (std::size_t n = text::space_at(s, k)) k += n;
      if (s.compare(k, 3, "end") == 0 && s.compare(k + 3, 10, "generation") == 0) k += 3;
      if (s.compare(k, 10, "generation") == 0) {
        k += 10;
        while (std::size_t n = text::space_at(s, k)) k += n;
        if (k < s.size() && s[k] == '-') rstrip = true, ++k;
        matched = s.compare(k, 2, "%}") == 0;
        k += 2;
      }
    }
    if (!matched) {
      g.push(t, i++);
      continue;
    }
    if (!lstrip) g.push_range(t, i, j);
    std::size_t after = k;
    while (std::size_t n = text::space_at(s, after)) after += n;
    if (!rstrip) g.push_range(t, k, after);
    i = after;
  }
  return g;
}

using text::is_digit;
using text::is_word;

struct Lexer {
  Mapped src;
  std::vector<Token> tokens;
  std::size_t cursor = 0;

  std::size_t origin(std::size_t i) const {
    if (src.origin.empty()) return 0;
    return src.origin[i < src.origin.size() ? i : src.origin.size() - 1] + (i < src.origin.size() ? 0 : 1);
  }
  [[noreturn]] void error(const std::string& message, std::size_t at) const {
    throw RuntimeError(message, origin(at));
  }
  char at(std::size_t i) const { return i < src.text.size() ? src.text[i] : '\0'; }

  // Consumes while the predicate holds, resolving backslash escapes (they only occur in string literals).
  template <typename Pred>
  std::string consume_while(Pred pred) {
    std::string out;
    while (cursor < src.text.size() && pred(cursor)) {
      if (src.text[cursor] == '\\') {
        ++cursor;
        if (cursor >= src.text.size()) error("Unexpected end of input", cursor);
        const char escaped = src.text[cursor++];
        if (escaped == 'x' || escaped == 'u') {
          const std::size_t length = escaped == 'x' ? 2 : 4;
          const std::string hex = src.text.substr(cursor, length);
          if (hex.size() != length || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
            error(fmt::format("Invalid hexadecimal escape sequence: \\{}{}", escaped, hex), cursor);
          append_utf8(out, static_cast<char32_t>(parse_int(hex, "template string escape", 0, 0xFFFF, ErrorKind::Format, 16)));
          cursor += length;
          continue;
        }
        switch (escaped) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'v': out += '\v'; break;
          case '\'': out += '\''; break;
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          default: error(fmt::format("Unexpected escaped character: {}", escaped), cursor - 1);
        }
        continue;
      }
      out += src.text[cursor++];
      if (cursor >= src.text.size()) error("Unexpected end of input", cursor);
    }
    return out;
  }

  void push(TokenType type, std::string value, std::size_t start) {
    tokens.push_back({type, std::move(value), origin(start)});
  }

  void strip_trailing_whitespace() {
    if (!tokens.empty() && tokens.back().type == TokenType::Text) {
      tokens.back().value = text::trim_end(tokens.back().value);
      if (tokens.back().value.empty()) tokens.pop_back();
    }
  }
  void skip_leading_whitespace() {
    while (std::size_t n = text::space_at(src.text, cursor)) cursor += n;
  }

  bool starts(std::string_view s) const { return src.text.compare(cursor, s.size(), s) == 0; }

  void run() {
    struct Rule {
      std::string_view seq;
      TokenType type;
    };
    static const Rule table[] = {
        {"{%", TokenType::OpenStatement}, {"%}", TokenType::CloseStatement}, {"{{", TokenType::OpenExpression},
        {"}}", TokenType::CloseExpression}, {"(", TokenType::OpenParen}, {")", TokenType::CloseParen},
        {"{", TokenType::OpenCurlyBracket}, {"}", TokenType::CloseCurlyBracket}, {"[", TokenType::OpenSquareBracket},
        {"]", TokenType::CloseSquareBracket}, {",", TokenType::Comma}, {".", TokenType::Dot}, {":", TokenType::Colon},
        {"|", TokenType::Pipe}, {"<=", TokenType::ComparisonBinaryOperator}, {">=", TokenType::ComparisonBinaryOperator},
        {"==", TokenType::ComparisonBinaryOperator}, {"!=", TokenType::ComparisonBinaryOperator},
        {"<", TokenType::ComparisonBinaryOperator}, {">", TokenType::ComparisonBinaryOperator},
        {"+", TokenType::AdditiveBinaryOperator}, {"-", TokenType::AdditiveBinaryOperator},
        {"~", TokenType::AdditiveBinaryOperator}, {"**", TokenType::ExponentiationBinaryOperator},
        {"*", TokenType::MultiplicativeBinaryOperator}, {"//", TokenType::MultiplicativeBinaryOperator},
        {"/", TokenType::MultiplicativeBinaryOperator}, {"%", TokenType::MultiplicativeBinaryOperator},
        {"=", TokenType::Equals},
    };
    int curly_depth = 0;
    const std::string& s = src.text;
    while (cursor < s.size()) {
      const bool text_mode = tokens.empty() || tokens.back().type == TokenType::CloseStatement ||
                             tokens.back().type == TokenType::CloseExpression || tokens.back().type == TokenType::Comment;
      if (text_mode) {
        const std::size_t start = cursor;
        while (cursor < s.size() && !(s[cursor] == '{' && (at(cursor + 1) == '%' || at(cursor + 1) == '{' || at(cursor + 1) == '#')))
          ++cursor;
        if (cursor > start) {
          push(TokenType::Text, s.substr(start, cursor - start), start);
          continue;
        }
      }
      if (starts("{#")) {
        const std::size_t start = cursor;
        cursor += 2;
        const bool strip_before = at(cursor) == '-';
        if (strip_before) ++cursor;
        std::string comment;
        while (at(cursor) != '#' || at(cursor + 1) != '}') {
          if (cursor + 2 >= s.size()) error("Missing end of comment tag", start);
          comment += s[cursor++];
        }
        const bool strip_after = !comment.empty() && comment.back() == '-';
        if (strip_after) comment.pop_back();
        if (strip_before) strip_trailing_whitespace();
        push(TokenType::Comment, comment, start);
        cursor += 2;
        if (strip_after) skip_leading_whitespace();
        continue;
      }
      if (starts("{%-")) {
        strip_trailing_whitespace();
        push(TokenType::OpenStatement, "{%", cursor);
        cursor += 3;
        continue;
      }
      if (starts("{{-")) {
        strip_trailing_whitespace();
        push(TokenType::OpenExpression, "{{", cursor);
        curly_depth = 0;
        cursor += 3;
        continue;
      }
      while (std::size_t n = text::space_at(s, cursor)) {
        cursor += n;
        if (cursor >= s.size()) error("Unexpected end of input", cursor);
      }
      if (starts("-%}")) {
        push(TokenType::CloseStatement, "%}", cursor);
        cursor += 3;
        skip_leading_whitespace();
        continue;
      }
      if (starts("-}}")) {
        push(TokenType::CloseExpression, "}}", cursor);
        cursor += 3;
        skip_leading_whitespace();
        continue;
      }
      const char c = at(cursor);
      if (c == '-' || c == '+') {
        if (tokens.empty() || tokens.back().type == TokenType::Text)
          error(fmt::format("Unexpected character: {}", c), cursor);
        const TokenType last = tokens.back().type;
        if (last != TokenType::Identifier && last != TokenType::NumericLiteral && last != TokenType::StringLiteral &&
            last != TokenType::CloseParen && last != TokenType::CloseSquareBracket) {
          const std::size_t start = cursor++;
          std::string num = consume_while([&](std::size_t i) { return is_digit(s[i]); });
          if (!num.empty() && at(cursor) == '.' && is_digit(at(cursor + 1))) {
            ++cursor;
            num += "." + consume_while([&](std::size_t i) { return is_digit(s[i]); });
          }
          push(num.empty() ? TokenType::UnaryOperator : TokenType::NumericLiteral, std::string(1, c) + num, start);
          continue;
        }
      }
      bool matched = false;
      for (const Rule& rule : table) {
        if (rule.seq == "}}" && curly_depth > 0) continue;
        if (starts(rule.seq)) {
          push(rule.type, std::string(rule.seq), cursor);
          if (rule.type == TokenType::OpenExpression) curly_depth = 0;
          else if (rule.type == TokenType::OpenCurlyBracket) ++curly_depth;
          else if (rule.type == TokenType::CloseCurlyBracket) --curly_depth;
          cursor += rule.seq.size();
          matched = true;
          break;
        }
      }
      if (matched) continue;
      if (c == '\'' || c == '"') {
        const std::size_t start = cursor++;
        std::string str = consume_while([&](std::size_t i) { return s[i] != c; });
        push(TokenType::StringLiteral, std::move(str), start);
        ++cursor;
        continue;
      }
      if (is_digit(c)) {
        const std::size_t start = cursor;
        std::string num = consume_while([&](std::size_t i) { return is_digit(s[i]); });
        if ((tokens.empty() || tokens.back().type != TokenType::Dot) && at(cursor) == '.' && is_digit(at(cursor + 1))) {
          ++cursor;
          num += "." + consume_while([&](std::size_t i) { return is_digit(s[i]); });
        }
        push(TokenType::NumericLiteral, std::move(num), start);
        continue;
      }
      if (is_word(c)) {
        const std::size_t start = cursor;
        push(TokenType::Identifier, consume_while([&](std::size_t i) { return is_word(s[i]); }), start);
        continue;
      }
      error(fmt::format("Unexpected character: {}", c), cursor);
    }
  }
};

}  // namespace

std::vector<Token> tokenize(const std::string& source) {
  Lexer lexer;
  lexer.src = preprocess(source);
  lexer.run();
  return std::move(lexer.tokens);
}

}  // namespace qk::jinja
