#include "jinja/text.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "util/utf8.hpp"

namespace qk::jinja::text {

namespace {

bool is_space_code_point(char32_t c) {
  if (c == 0x09 || c == 0x0A || c == 0x0B || c == 0x0C || c == 0x0D || c == 0x20) return true;
  return c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

}  // namespace

std::size_t space_at(std::string_view s, std::size_t i) {
  if (i >= s.size()) return 0;
  std::size_t end = i;
  return is_space_code_point(next_code_point(s, end)) ? end - i : 0;
}

std::size_t space_before(std::string_view s, std::size_t end) {
  for (std::size_t len = 1; len <= 3 && len <= end; ++len)
    if (space_at(s, end - len) == len) return len;
  return 0;
}

std::string trim_start(std::string_view s) {
  std::size_t i = 0;
  while (std::size_t n = space_at(s, i)) i += n;
  return std::string(s.substr(i));
}

std::string trim_end(std::string_view s) {
  std::size_t end = s.size();
  while (std::size_t n = space_before(s, end)) end -= n;
  return std::string(s.substr(0, end));
}

std::string trim(std::string_view s) { return trim_end(trim_start(s)); }

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) out.push_back(next_code_point(s, i));
  return out;
}

std::size_t utf16_length(std::string_view s) {
  std::size_t n = 0;
  for (char32_t c : code_points(s)) n += c >= 0x10000 ? 2 : 1;
  return n;
}

bool utf16_at(std::string_view s, long long i, std::string& out) {
  std::vector<char32_t> units;
  for (char32_t c : code_points(s)) {
    if (c >= 0x10000) {
      units.push_back(0xD800 + ((c - 0x10000) >> 10));
      units.push_back(0xDC00 + ((c - 0x10000) & 0x3FF));
    } else {
      units.push_back(c);
    }
  }
  const long long n = static_cast<long long>(units.size());
  if (i < 0) i += n;
  if (i < 0 || i >= n) return false;
  out = utf8_char(units[static_cast<std::size_t>(i)]);
  return true;
}

double parse_int(std::string_view s) {
  const std::string t = trim_start(s);
  std::size_t i = 0;
  bool negative = false;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) negative = t[i++] == '-';
  if (i >= t.size() || !is_digit(t[i])) return std::numeric_limits<double>::quiet_NaN();
  double v = 0;
  while (i < t.size() && is_digit(t[i])) v = v * 10 + (t[i++] - '0');
  return negative ? -v : v;
}

double parse_float(std::string_view s) {
  const std::string t = trim_start(s);
  std::size_t i = 0;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
  if (t.compare(i, 8, "Infinity") == 0) return t[0] == '-' ? -INFINITY : INFINITY;
  const std::size_t digits_start = i;
  while (i < t.size() && is_digit(t[i])) ++i;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && is_digit(t[i])) ++i;
  }
  if (i == digits_start || (i == digits_start + 1 && t[digits_start] == '.'))
    return std::numeric_limits<double>::quiet_NaN();
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    std::size_t j = i + 1;
    if (j < t.size() && (t[j] == '+' || t[j] == '-')) ++j;
    if (j < t.size() && is_digit(t[j])) {
      while (j < t.size() && is_digit(t[j])) ++j;
      i = j;
    }
  }
  return std::strtod(t.substr(0, i).c_str(), nullptr);
}

double to_number(std::string_view s) {
  const std::string t = trim(s);
  if (t.empty()) return 0;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    char* end = nullptr;
    const double v = static_cast<double>(std::strtoull(t.c_str() + 2, &end, 16));
    return *end ? std::numeric_limits<double>::quiet_NaN() : v;
  }
  if (t == "Infinity" || t == "+Infinity") return INFINITY;
  if (t == "-Infinity") return -INFINITY;
  for (char c : t)
    if (!(is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
      return std::numeric_limits<double>::quiet_NaN();
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  return *end ? std::numeric_limits<double>::quiet_NaN() : v;
}

}  // namespace qk::jinja::text
