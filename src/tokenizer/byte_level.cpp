#include "tokenizer/byte_level.hpp"

#include "tokenizer/utf8.hpp"

namespace qk::tok {

const ByteLevelMap& ByteLevelMap::get() {
  static const ByteLevelMap map;
  return map;
}

ByteLevelMap::ByteLevelMap() {
  char_to_byte_.fill(-1);
  // bytes_to_unicode(): '!'..'~', '¡'..'¬', '®'..'ÿ' keep their code point; the rest get 256 + n.
  auto keeps_itself = [](int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); };
  char32_t next_free = 256;
  for (int b = 0; b < 256; ++b) {
    char32_t c = keeps_itself(b) ? static_cast<char32_t>(b) : next_free++;
    byte_to_char_[b] = c;
    std::string utf8;
    append_utf8(utf8, c);
    byte_to_utf8_[b].length = static_cast<unsigned char>(utf8.size());
    for (std::size_t i = 0; i < utf8.size(); ++i) byte_to_utf8_[b].bytes[i] = utf8[i];
    char_to_byte_[c] = b;
  }
}

void ByteLevelMap::encode(std::string_view raw, std::string& out) const {
  std::size_t at = out.size();
  out.resize(at + raw.size() * 2);  // every character takes one or two bytes
  char* dst = out.data() + at;
  for (char ch : raw) {
    const Utf8& u = byte_to_utf8_[static_cast<unsigned char>(ch)];
    dst[0] = u.bytes[0];
    dst[1] = u.bytes[1];
    dst += u.length;
  }
  out.resize(static_cast<std::size_t>(dst - out.data()));
}

std::optional<unsigned char> ByteLevelMap::byte_of(char32_t c) const {
  if (c >= char_to_byte_.size() || char_to_byte_[c] < 0) return std::nullopt;
  return static_cast<unsigned char>(char_to_byte_[c]);
}

}  // namespace qk::tok
