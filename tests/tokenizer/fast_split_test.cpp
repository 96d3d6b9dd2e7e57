// The hand-written split matchers must give exactly PCRE2's matches for the same regex (PCRE2 itself
// is checked against the tokenizers library by parity_test.cpp): random text over an alphabet full
// of the cases that decide splits, the hard text, and the training text.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "tokenizer/fast_split.hpp"
#include "tokenizer/regex.hpp"
#include "tokenizer/utf8.hpp"

namespace {

using qk::tok::ByteRange;

const char* const kPatterns[] = {
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};

std::vector<ByteRange> matches(const qk::tok::Regex& re, std::string_view text) {
  std::vector<ByteRange> m;
  re.find_all(text, m);
  return m;
}

void expect_same(std::string_view text) {
  for (const char* pattern : kPatterns) {
    qk::tok::Regex fast(pattern, "fast"), pcre(pattern, "pcre2", false);
    ASSERT_NE(qk::tok::fast_split_for(pattern), qk::tok::FastSplit::None);
    EXPECT_EQ(matches(fast, text), matches(pcre, text)) << "pattern " << pattern << "\ntext: " << text;
  }
}

TEST(FastSplit, SameMatchesAsPcre2OnRandomText) {
  // Letters of several scripts and cases, digits of several kinds, the apostrophe cases, every kind of
  // whitespace (incl. U+0085, NBSP, ideographic space), combining marks, emoji, punctuation.
  const std::vector<std::string> alphabet = {
      "a", "b", "s", "S", "t", "T", "r", "R", "e", "E", "v", "m", "M", "l", "L", "d", "D", "ſ", "é", "ß", "Ω", "я",
      "中", "文", "が", "ー", "1", "2", "9", "½", "٣", "Ⅻ", "²", "'", "'", "'", "\"", "!", "?", ".", ",", "-", "_",
      "(", "€", "😀", "👩‍💻", "\xCC\x81", "\xE2\x80\x8D", " ", " ", " ", " ", "\t", "\n", "\n", "\r", "\r\n",
      "\xC2\x85", "\xC2\xA0", "\xE3\x80\x80", "\xE2\x80\xA8", "\x0B", "\x0C"};
  std::mt19937 rng(12345);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1), length(0, 24);
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    for (std::size_t n = length(rng); n > 0; --n) text += alphabet[pick(rng)];
    expect_same(text);
    if (HasFailure()) return;  // one counterexample is enough to read
  }
}

TEST(FastSplit, SameMatchesAsPcre2OnHardAndTrainingText) {
  const std::string dir = std::string(QK_SOURCE_DIR) + "/testdata/tokenizer/";
  std::ifstream hard(dir + "hard_text.jsonl");
  for (std::string line; std::getline(hard, line);) expect_same(nlohmann::json::parse(line)["text"].get<std::string>());
  std::ifstream in(dir + "training_corpus.txt", std::ios::binary);
  expect_same(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
}

TEST(FastSplit, OtherPatternsStayOnPcre2) {
  EXPECT_EQ(qk::tok::fast_split_for(R"(\s+)"), qk::tok::FastSplit::None);
  EXPECT_EQ(qk::tok::fast_split_for(R"(\p{N}{1,3})"), qk::tok::FastSplit::None);
}

}  // namespace
