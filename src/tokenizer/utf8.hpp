// UTF-8 helpers and the Unicode character predicates that the `tokenizers` library takes from Rust
// (char::is_whitespace, char::is_alphanumeric, the regex crate's \w). Matching those exactly matters:
// they decide where added tokens may match and how much whitespace lstrip/rstrip swallow.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace qk::tok {

// Byte length of the UTF-8 sequence that starts with `lead` (input already known to be valid).
inline std::size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// Decodes the code point at `pos` of valid UTF-8 and advances `pos` past it.
char32_t next_code_point(std::string_view text, std::size_t& pos);
// Decodes the code point that ends at `end` (exclusive) of valid UTF-8.
char32_t last_code_point(std::string_view text, std::size_t end);
void append_utf8(std::string& out, char32_t code_point);

bool is_valid_utf8(std::string_view bytes);
// Rust's String::from_utf8_lossy: each maximal invalid subpart becomes one U+FFFD.
std::string utf8_lossy(std::string_view bytes);

bool is_rust_whitespace(char32_t c);    // Unicode White_Space (char::is_whitespace, regex \s)
bool is_rust_alphanumeric(char32_t c);  // Alphabetic or general category N* (char::is_alphanumeric)
bool is_rust_numeric(char32_t c);       // general category Nd, Nl or No (char::is_numeric)
bool is_regex_word_char(char32_t c);    // regex crate \w: Alphabetic, M*, Nd, Pc, Join_Control

}  // namespace qk::tok
