#include "server/utf8_text.hpp"

namespace qk::server {
namespace {

// Length of the sequence a lead byte announces; 0 for a byte that cannot start one.
std::size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Whether `byte` may follow `lead` as the continuation byte at `position` (1..3): Unicode Table 3-7,
// which excludes overlong forms, surrogates and code points beyond U+10FFFF.
bool continues(unsigned char lead, std::size_t position, unsigned char byte) {
  unsigned char lo = 0x80, hi = 0xBF;
  if (position == 1) {
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  }
  return byte >= lo && byte <= hi;
}

// At text[i]: how many bytes form a well-formed sequence (`valid` true), or the maximal subpart that
// is a prefix of one (`valid` false, at least 1 byte).
struct Scan {
  std::size_t bytes;
  bool valid;
  bool truncated;  // a valid prefix cut off by the end of the text
};
Scan scan(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  const std::size_t need = sequence_length(lead);
  if (need == 0) return {1, false, false};
  std::size_t have = 1;
  while (have < need && i + have < text.size() && continues(lead, have, static_cast<unsigned char>(text[i + have])))
    ++have;
  if (have == need) return {need, true, false};
  return {have, false, i + have == text.size()};
}

}  // namespace

std::size_t utf8_stable_length(std::string_view text) {
  std::size_t end = text.size();
  // Only the last three bytes can hold the start of an incomplete character.
  const std::size_t from = text.size() > 3 ? text.size() - 3 : 0;
  for (std::size_t i = from; i < text.size(); ++i) {
    if (sequence_length(static_cast<unsigned char>(text[i])) <= 1) continue;
    if (scan(text, i).truncated) {
      end = i;
      break;
    }
  }
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  while (end >= kReplacement.size() && text.substr(end - kReplacement.size(), kReplacement.size()) == kReplacement)
    end -= kReplacement.size();
  return end;
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const Scan s = scan(text, i);
    if (s.valid)
      out.append(text.substr(i, s.bytes));
    else
      out += "\xEF\xBF\xBD";
    i += s.bytes;
  }
  return out;
}

std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace qk::server
