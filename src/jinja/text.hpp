// String helpers with JavaScript's meaning: the reference's strings are UTF-16 and its whitespace is
// JavaScript's \s (ASCII whitespace plus the Unicode spaces); ours are UTF-8.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace qk::jinja::text {

// Byte length of the JavaScript whitespace character starting at s[i] (0 when there is none).
std::size_t space_at(std::string_view s, std::size_t i);
// Byte length of the JavaScript whitespace character ending just before s[end] (0 when there is none).
std::size_t space_before(std::string_view s, std::size_t end);

// ASCII [A-Za-z0-9_] (JavaScript's \w) and [0-9].
inline bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string trim_start(std::string_view s);
std::string trim_end(std::string_view s);
std::string trim(std::string_view s);

// ASCII case mapping (non-ASCII letters are left as they are).
std::string upper(std::string_view s);
std::string lower(std::string_view s);

std::vector<char32_t> code_points(std::string_view s);
// Length in UTF-16 code units, as JavaScript's .length counts.
std::size_t utf16_length(std::string_view s);
// s.at(i) in UTF-16 code units (a negative i counts from the end); false when out of range.
bool utf16_at(std::string_view s, long long i, std::string& out);

// JavaScript's parseInt(s, 10) / parseFloat(s) / Number(s); NaN when they give NaN.
double parse_int(std::string_view s);
double parse_float(std::string_view s);
double to_number(std::string_view s);

}  // namespace qk::jinja::text
