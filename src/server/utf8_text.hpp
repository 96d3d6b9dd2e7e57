// UTF-8 helpers for generated text: a byte-level tokenizer can end a token inside a character, and a
// random or badly trained model can produce bytes that never form one.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace qk::server {

// The length of `text` without a trailing incomplete character (a lead byte followed by fewer
// continuation bytes than it announces) and without trailing U+FFFD: the part of a decoded text that
// the next token cannot change. Hugging Face decoders (and ours) are lossy, so the first bytes of a
// character decode to U+FFFD until its last byte comes, and then to the character.
std::size_t utf8_stable_length(std::string_view text);

// `text` with every ill-formed sequence replaced by U+FFFD, one per maximal subpart (Unicode's "best
// practice", as Python's decode(errors="replace")). Cutting text where utf8_complete_length says and
// sanitizing the pieces gives the same as sanitizing the whole.
std::string sanitize_utf8(std::string_view text);

// Unicode code points in well-formed `text` (OpenAI's text_offset counts characters, not bytes).
std::size_t utf8_length(std::string_view text);

}  // namespace qk::server
