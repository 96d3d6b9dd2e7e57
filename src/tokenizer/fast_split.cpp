#include "tokenizer/fast_split.hpp"

#include <unicode/uchar.h>

#include "tokenizer/utf8.hpp"

namespace qk::tok {
namespace {

constexpr std::string_view kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The four classes the regexes distinguish: \p{L}, \p{N}, \s (Oniguruma's, with U+0085) and the rest.
enum class Cls : unsigned char { Letter, Number, Space, Other, End };

Cls classify(char32_t c) {
  if (c < 0x80) {
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return Cls::Letter;
    if (c >= '0' && c <= '9') return Cls::Number;
    if (c == ' ' || (c >= 0x09 && c <= 0x0D)) return Cls::Space;
    return Cls::Other;
  }
  if (is_rust_whitespace(c)) return Cls::Space;
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_UPPERCASE_LETTER: case U_LOWERCASE_LETTER: case U_TITLECASE_LETTER: case U_MODIFIER_LETTER:
    case U_OTHER_LETTER:
      return Cls::Letter;
    case U_DECIMAL_DIGIT_NUMBER: case U_LETTER_NUMBER: case U_OTHER_NUMBER:
      return Cls::Number;
    default:
      return Cls::Other;
  }
}

struct Scanner {
  std::string_view text;

  // Code point at `pos` and its byte length; End past the text.
  char32_t at(std::size_t pos, std::size_t& length) const {
    if (pos >= text.size()) {
      length = 0;
      return 0;
    }
    std::size_t next = pos;
    char32_t c = next_code_point(text, next);
    length = next - pos;
    return c;
  }
  Cls cls_at(std::size_t pos) const {
    std::size_t length;
    return pos >= text.size() ? Cls::End : classify(at(pos, length));
  }
  // End of the run of class `cls` that starts at `pos`.
  std::size_t run(std::size_t pos, Cls cls) const {
    while (pos < text.size()) {
      std::size_t length;
      if (classify(at(pos, length)) != cls) break;
      pos += length;
    }
    return pos;
  }
  std::size_t run_crlf(std::size_t pos) const {
    while (pos < text.size() && (text[pos] == '\r' || text[pos] == '\n')) ++pos;
    return pos;
  }
  // 's 't 're 've 'm 'll 'd at `pos` (which holds '), optionally case-insensitive; returns the end or 0.
  std::size_t contraction(std::size_t pos, bool caseless) const {
    std::size_t length;
    auto lower = [&](char32_t c) -> char32_t {
      if (!caseless) return c;
      if (c == 0x17F) return 's';  // ſ folds to s
      return c < 0x80 && c >= 'A' && c <= 'Z' ? c + 32 : c;
    };
    std::size_t p = pos + 1;
    char32_t c1 = lower(at(p, length));
    if (length == 0) return 0;
    std::size_t p2 = p + length;
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return p2;
    std::size_t length2;
    char32_t c2 = lower(at(p2, length2));
    if (length2 == 0) return 0;
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return p2 + length2;
    return 0;
  }
  // \s+(?!\S) then \s+, for the whitespace run [pos, end).
  std::size_t whitespace(std::size_t pos, std::size_t end) const {
    if (end == text.size()) return end;
    std::size_t last = end - 1;  // start of the run's last character
    while ((static_cast<unsigned char>(text[last]) & 0xC0) == 0x80) --last;
    return last > pos ? last : end;
  }
};

void split_gpt2(std::string_view text, FunctionRef<void(ByteRange)> on_match) {
  Scanner s{text};
  for (std::size_t i = 0; i < text.size();) {
    std::size_t length;
    char32_t c = s.at(i, length);
    std::size_t end = 0;
    if (c == '\'') end = s.contraction(i, false);
    if (!end) {
      Cls cls = classify(c);
      if (c == ' ') {
        Cls next = s.cls_at(i + 1);  // " ?" before a letter, number or other run
        if (next == Cls::Letter || next == Cls::Number || next == Cls::Other) end = s.run(i + 1, next);
      }
      if (!end && cls != Cls::Space) end = s.run(i, cls);
      if (!end) end = s.whitespace(i, s.run(i, Cls::Space));
    }
    on_match({i, end});
    i = end;
  }
}

void split_qwen_llama(std::string_view text, bool up_to_three_digits, FunctionRef<void(ByteRange)> on_match) {
  Scanner s{text};
  for (std::size_t i = 0; i < text.size();) {
    std::size_t length;
    char32_t c = s.at(i, length);
    Cls cls = classify(c);
    std::size_t end = 0;
    if (c == '\'') end = s.contraction(i, true);
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!end && cls == Cls::Letter) end = s.run(i, Cls::Letter);
    if (!end && c != '\r' && c != '\n' && (cls == Cls::Space || cls == Cls::Other) && s.cls_at(i + length) == Cls::Letter)
      end = s.run(i + length, Cls::Letter);
    // \p{N} or \p{N}{1,3}
    if (!end && cls == Cls::Number) {
      end = i + length;
      for (int more = up_to_three_digits ? 2 : 0; more > 0 && s.cls_at(end) == Cls::Number; --more) {
        std::size_t l;
        s.at(end, l);
        end += l;
      }
    }
    // " ?[^\s\p{L}\p{N}]+[\r\n]*"
    if (!end && c == ' ' && s.cls_at(i + 1) == Cls::Other) end = s.run_crlf(s.run(i + 1, Cls::Other));
    if (!end && cls == Cls::Other) end = s.run_crlf(s.run(i, Cls::Other));
    if (!end) {
      // Whitespace: \s*[\r\n]+ ends after the run's last \r or \n; else \s+(?!\S), else \s+.
      std::size_t run_end = s.run(i, Cls::Space);
      for (std::size_t q = run_end; q > i; --q) {
        if (text[q - 1] == '\r' || text[q - 1] == '\n') {
          end = q;
          break;
        }
      }
      if (!end) end = s.whitespace(i, run_end);
    }
    on_match({i, end});
    i = end;
  }
}

}  // namespace

FastSplit fast_split_for(std::string_view onig_pattern) {
  if (onig_pattern == kGpt2) return FastSplit::Gpt2;
  if (onig_pattern == kQwen2) return FastSplit::Qwen2;
  if (onig_pattern == kLlama3) return FastSplit::Llama3;
  return FastSplit::None;
}

void fast_split(FastSplit kind, std::string_view text, FunctionRef<void(ByteRange)> on_match) {
  switch (kind) {
    case FastSplit::Gpt2: split_gpt2(text, on_match); break;
    case FastSplit::Qwen2: split_qwen_llama(text, false, on_match); break;
    case FastSplit::Llama3: split_qwen_llama(text, true, on_match); break;
    case FastSplit::None: break;
  }
}

}  // namespace qk::tok
