// The one UTF-8 encoder/decoder (util/utf8) that the tokenizer, the chat templates and the server share.
#include <gtest/gtest.h>

#include "util/utf8.hpp"

using namespace qk;

TEST(Utf8, EncodesAndDecodesEveryLength) {
  for (char32_t c : {U'a', U'\u00E9', U'\u20AC', U'\U0001F600', U'\u007F', U'\u0080', U'\u07FF', U'\u0800', U'\uFFFF',
                     U'\U00010000', U'\U0010FFFF'}) {
    const std::string s = utf8_char(c);
    EXPECT_TRUE(is_valid_utf8(s));
    std::size_t pos = 0;
    EXPECT_EQ(next_code_point(s, pos), c);
    EXPECT_EQ(pos, s.size());
    EXPECT_EQ(last_code_point("x" + s, s.size() + 1), c);
  }
  EXPECT_EQ(utf8_char(U'\u20AC'), "\xE2\x82\xAC");
}

TEST(Utf8, DecodingIllFormedInputStaysInRange) {
  // A stray continuation byte, and a 3-byte lead at the end: each one byte decoding to U+FFFD.
  std::string s = "\x80" "a\xE2";
  std::size_t pos = 0;
  EXPECT_EQ(next_code_point(s, pos), U'\uFFFD');
  EXPECT_EQ(next_code_point(s, pos), U'a');
  EXPECT_EQ(next_code_point(s, pos), U'\uFFFD');
  EXPECT_EQ(pos, s.size());
}

TEST(Utf8, LossyReplacesMaximalInvalidSubparts) {
  EXPECT_EQ(utf8_lossy("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(utf8_lossy("a\x80" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(utf8_lossy("\xE2\x82"), "\xEF\xBF\xBD");  // one U+FFFD for a truncated 3-byte sequence
  EXPECT_EQ(utf8_lossy("\xE2\x82x"), "\xEF\xBF\xBDx");
  EXPECT_EQ(utf8_lossy("\xF0\x9F\x98" "x"), "\xEF\xBF\xBD" "x");  // truncated 4-byte sequence
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  EXPECT_EQ(utf8_lossy("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // an overlong form
  EXPECT_EQ(utf8_lossy("ok é 😀"), "ok é 😀");
}

TEST(Utf8, StablePrefixAndLength) {
  EXPECT_EQ(utf8_stable_length("ab\xE2\x82"), 2u);
  EXPECT_EQ(utf8_stable_length("ab\xE2"), 2u);
  EXPECT_EQ(utf8_stable_length("ab\xE2\x41"), 4u);       // ill-formed already: the next byte cannot change it
  EXPECT_EQ(utf8_stable_length("ab\xEF\xBF\xBD"), 2u);  // a lossy decoder's stand-in for an unfinished character
  EXPECT_EQ(utf8_stable_length("ab\xE2\x82\xAC"), 5u);
  EXPECT_EQ(utf8_length("h\xC3\xA9\xE2\x82\xAC"), 3u);
}
