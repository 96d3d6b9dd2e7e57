// The Unicode character predicates that the `tokenizers` library takes from Rust
// (char::is_whitespace, char::is_alphanumeric, the regex crate's \w). Matching those exactly matters:
// they decide where added tokens may match and how much whitespace lstrip/rstrip swallow.
#pragma once
#include "util/utf8.hpp"  // the tokenizer decodes and encodes with qk::next_code_point and qk::append_utf8

namespace qk::tok {

bool is_rust_whitespace(char32_t c);    // Unicode White_Space (char::is_whitespace, regex \s)
bool is_rust_alphanumeric(char32_t c);  // Alphabetic or general category N* (char::is_alphanumeric)
bool is_rust_numeric(char32_t c);       // general category Nd, Nl or No (char::is_numeric)
bool is_regex_word_char(char32_t c);    // regex crate \w: Alphabetic, M*, Nd, Pc, Join_Control

}  // namespace qk::tok
