// Unit tests of single components: split behaviors, added-token flags, UTF-8 repair, regex iteration.
#include <gtest/gtest.h>

#include "tiny_tokenizers.hpp"
#include "tokenizer/regex.hpp"
#include "tokenizer/pre_tokenizers.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"
#include "util/error.hpp"

namespace {

using Ids = std::vector<std::int32_t>;
using qk::tok::ByteRange;
using qk::tok::SplitBehavior;

std::vector<std::string> pieces(std::string_view text, SplitBehavior behavior, bool invert = false) {
  std::vector<ByteRange> matches;
  for (std::size_t at = text.find('-'); at != std::string_view::npos; at = text.find('-', at + 1)) matches.emplace_back(at, at + 1);
  std::vector<std::string> out;
  for (auto [a, b] : qk::tok::split_ranges(text.size(), matches, invert, behavior)) out.emplace_back(text.substr(a, b - a));
  return out;
}

TEST(SplitBehavior, AllFiveBehaviorsOnTheLibraryExample) {
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces("the-final--countdown", SplitBehavior::Removed), (V{"the", "final", "countdown"}));
  EXPECT_EQ(pieces("the-final--countdown", SplitBehavior::Isolated), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(pieces("the-final--countdown", SplitBehavior::MergedWithPrevious), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(pieces("the-final--countdown", SplitBehavior::MergedWithNext), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(pieces("the-final--countdown", SplitBehavior::Contiguous), (V{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(pieces("the-final--countdown", SplitBehavior::Removed, true), (V{"-", "-", "-"}));
  EXPECT_EQ(pieces("", SplitBehavior::Isolated), (V{}));
}

TEST(Regex, OnigWhitespaceIncludesNextLine) {
  qk::tok::Regex re(R"(\s+)", "test");
  std::vector<ByteRange> m;
  re.find_all("a\xC2\x85" "b", m);  // U+0085 NEL
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], (ByteRange{1, 3}));
  EXPECT_EQ(qk::tok::Regex::translate_onig(R"([^\s\p{L}]|\S)"), R"([^\s\x{85}\p{L}]|[^\s\x{85}])");
}

TEST(Regex, EmptyMatchRightAfterAMatchIsSkipped) {
  qk::tok::Regex re("a*", "test");
  std::vector<ByteRange> m;
  re.find_all("baab", m);
  // onig find_iter: "" at 0, "aa" at 1, then the empty match at 3 touches "aa" and is skipped, "" at 4.
  EXPECT_EQ(m, (std::vector<ByteRange>{{0, 0}, {1, 3}, {4, 4}}));
}

TEST(Regex, BadPatternNamesWhere) {
  try {
    qk::tok::Regex re("(unclosed", "x.json pre_tokenizer Split");
    FAIL();
  } catch (const qk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.json pre_tokenizer Split"), std::string::npos);
  }
}

TEST(Utf8, RustCharacterClasses) {
  EXPECT_TRUE(qk::tok::is_rust_whitespace(0x85));
  EXPECT_TRUE(qk::tok::is_rust_whitespace(0x3000));
  EXPECT_FALSE(qk::tok::is_rust_whitespace(0x200B));  // zero width space is not White_Space
  EXPECT_TRUE(qk::tok::is_regex_word_char(U'é'));
  EXPECT_TRUE(qk::tok::is_regex_word_char(0x0301));  // combining mark
  EXPECT_TRUE(qk::tok::is_regex_word_char(U'_'));
  EXPECT_FALSE(qk::tok::is_regex_word_char(U'-'));
  EXPECT_TRUE(qk::tok::is_rust_numeric(U'½'));
}

// Byte-level tiny tokenizer plus added tokens with each flag (ids 20..23).
qk::Tokenizer with_flags(nlohmann::json normalizer = nullptr) {
  auto json = qk::test::tiny_byte_level(true);
  auto token = [](int id, const char* content, bool single_word, bool lstrip, bool rstrip, bool normalized) {
    return nlohmann::json{{"id", id}, {"content", content}, {"single_word", single_word}, {"lstrip", lstrip},
                          {"rstrip", rstrip}, {"normalized", normalized}, {"special", false}};
  };
  json["added_tokens"].push_back(token(20, "<m>", false, true, false, false));
  json["added_tokens"].push_back(token(21, "<r>", false, false, true, false));
  json["added_tokens"].push_back(token(22, "[S]", true, false, false, false));
  json["added_tokens"].push_back(token(23, "ABC", false, false, false, true));
  json["normalizer"] = normalizer;
  return qk::Tokenizer::from_json_text(json.dump(), "flags.json");
}

TEST(AddedTokens, LstripTakesWhitespaceBefore) {
  EXPECT_EQ(with_flags().encode("a  <m>b"), (Ids{0, 20, 1}));
  EXPECT_EQ(with_flags().encode("a<m>  b"), (Ids{0, 20, 3, 3, 1}));
}

TEST(AddedTokens, RstripTakesWhitespaceAfter) {
  EXPECT_EQ(with_flags().encode("a<r>  b"), (Ids{0, 21, 1}));
  EXPECT_EQ(with_flags().encode("a <r>b"), (Ids{0, 3, 21, 1}));
}

TEST(AddedTokens, SingleWordOnlyBetweenNonWordCharacters) {
  EXPECT_EQ(with_flags().encode("a [S] b"), (Ids{0, 3, 22, 3, 1}));
  EXPECT_EQ(with_flags().encode("[S]"), (Ids{22}));
  EXPECT_EQ(with_flags().encode("a[S]b"), (Ids{0, 1}));  // inside a word: plain text, [ S ] not in vocab
}

TEST(AddedTokens, NormalizedTokenMatchesNormalizedText) {
  // Without a normalizer "ABC" matches as written; with Lowercase it matches "abc" after lowercasing.
  EXPECT_EQ(with_flags().encode("cABCa"), (Ids{2, 23, 0}));
  auto lower = with_flags({{"type", "Lowercase"}});
  EXPECT_EQ(lower.encode("cABCa"), (Ids{2, 23, 0}));
  EXPECT_EQ(lower.encode("cabca"), (Ids{2, 23, 0}));
  EXPECT_EQ(with_flags().encode("cabca"), (Ids{2, 6, 0}));  // plain text: c, abc, a
}

TEST(Normalizers, NfcComposesAndLowercaseIsPerCharacter) {
  auto json = qk::test::tiny_byte_level(true);
  json["model"]["vocab"]["Ã©"] = 30;  // é as byte-level characters (C3 A9)
  json["model"]["vocab"]["Ã"] = 31;
  json["model"]["vocab"]["©"] = 32;
  json["model"]["merges"].push_back(nlohmann::json::array({"Ã", "©"}));
  json["normalizer"] = {{"type", "NFC"}};
  auto nfc = qk::Tokenizer::from_json_text(json.dump());
  EXPECT_EQ(nfc.encode("e\xCC\x81"), (Ids{30}));  // e + combining acute -> é
  json["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Lowercase"}}}}};
  auto lower = qk::Tokenizer::from_json_text(json.dump());
  EXPECT_EQ(lower.encode("E\xCC\x81"), (Ids{30}));  // É -> é
}

TEST(BpeVocab, AnIdNear2To31InASmallVocabLoadsWithoutATableThatLarge) {
  // The fuzzer's find: ids indexed a table, so one id of 2^31 - 2 in a 10-token vocab asked for 16 GB.
  // Ids may be sparse (tokenizers keeps them in a map too); the token must still round-trip.
  auto json = qk::test::tiny_byte_level(true);
  json["model"]["vocab"]["zz"] = 2147483646;
  auto tokenizer = qk::Tokenizer::from_json_text(json.dump(), "sparse.json");
  EXPECT_EQ(tokenizer.id_to_token(2147483646), std::optional<std::string>("zz"));
  EXPECT_EQ(tokenizer.id_to_token(2147483645), std::nullopt);
  EXPECT_EQ(tokenizer.encode("a"), (Ids{0}));
}

}  // namespace
