// UTF-8, once for the whole tool: the encoder, the decoder and Unicode's Table 3-7 rules for what is well
// formed. The tokenizer, the chat templates and the server's streamed text all use these.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace qk {

// Byte length of the UTF-8 sequence that starts with `lead` (input already known to be valid).
inline std::size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// Decodes the code point at `pos` and advances `pos` past it. A byte that starts no sequence, or a
// sequence cut off by the end of `text`, is one byte decoding to U+FFFD (so no input reads out of range).
char32_t next_code_point(std::string_view text, std::size_t& pos);
// Decodes the code point that ends at `end` (exclusive) of valid UTF-8.
char32_t last_code_point(std::string_view text, std::size_t end);
void append_utf8(std::string& out, char32_t code_point);
inline std::string utf8_char(char32_t code_point) {
  std::string out;
  append_utf8(out, code_point);
  return out;
}

bool is_valid_utf8(std::string_view bytes);
// Every ill-formed sequence replaced by one U+FFFD per maximal subpart (Unicode's "best practice", as
// Rust's String::from_utf8_lossy and Python's decode(errors="replace")).
std::string utf8_lossy(std::string_view bytes);
// The length of `text` without a trailing incomplete character (a lead byte followed by fewer
// continuation bytes than it announces) and without trailing U+FFFD: the part of a decoded text that
// the next token cannot change. Hugging Face decoders (and ours) are lossy, so the first bytes of a
// character decode to U+FFFD until its last byte comes, and then to the character. Cutting text there
// and passing the pieces through utf8_lossy gives the same as passing the whole.
std::size_t utf8_stable_length(std::string_view text);
// Unicode code points in well-formed `text` (OpenAI's text_offset counts characters, not bytes).
std::size_t utf8_length(std::string_view text);

}  // namespace qk
