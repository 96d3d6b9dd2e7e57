// GPT-2's reversible byte <-> character map (openai/gpt-2 encoder.py, bytes_to_unicode): every byte
// becomes a printable character so that byte-level BPE vocabularies can be stored as JSON strings.
// Printable Latin-1 bytes map to themselves; the other 68 bytes map to U+0100.. in byte order.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace qk::tok {

class ByteLevelMap {
 public:
  static const ByteLevelMap& get();

  // Appends the characters that stand for the bytes of `raw` (e.g. ' ' -> "Ġ", '\n' -> "Ċ").
  void encode(std::string_view raw, std::string& out) const;
  // The byte that character `c` stands for, if it is one of the 256 characters.
  std::optional<unsigned char> byte_of(char32_t c) const;
  char32_t char_of(unsigned char byte) const { return byte_to_char_[byte]; }

 private:
  ByteLevelMap();
  std::array<char32_t, 256> byte_to_char_{};
  struct Utf8 {
    char bytes[2];
    unsigned char length;
  };
  std::array<Utf8, 256> byte_to_utf8_{};  // the same characters, UTF-8 encoded (all below U+0800)
  std::array<int, 512> char_to_byte_{};          // every mapped character is < U+0144; -1 if unmapped
};

}  // namespace qk::tok
