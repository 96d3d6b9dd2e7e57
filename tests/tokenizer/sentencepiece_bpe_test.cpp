#include <gtest/gtest.h>

#include "tiny_tokenizers.hpp"
#include "tokenizer/tokenizer.hpp"

namespace {

using Ids = std::vector<std::int32_t>;

qk::Tokenizer tiny_sp() { return qk::Tokenizer::from_json_text(qk::test::tiny_sentencepiece().dump(), "tiny_sp.json"); }

// The same vocabulary with Metaspace as pre-tokenizer instead of the Prepend + Replace normalizer.
qk::Tokenizer tiny_metaspace(const char* scheme, bool split) {
  auto json = qk::test::tiny_sentencepiece();
  json["normalizer"] = nullptr;
  json["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", scheme}, {"split", split}};
  return qk::Tokenizer::from_json_text(json.dump(), "tiny_metaspace.json");
}

TEST(SentencePieceBpe, MergeRankDecidesEvenWhenWholeWordIsInVocab) {
  // "▁hi": "h i" (rank 0) fires before "▁ h" (rank 1), and no merge joins ▁ with hi.
  EXPECT_EQ(tiny_sp().encode("hi"), (Ids{6, 10}));
  EXPECT_EQ(tiny_sp().encode("hi hi"), (Ids{6, 10, 6, 10}));
}

TEST(SentencePieceBpe, TemplateAddsBos) {
  EXPECT_EQ(tiny_sp().encode("hi", true), (Ids{1, 6, 10}));
  EXPECT_EQ(tiny_sp().encode("", true), (Ids{1}));
  EXPECT_EQ(tiny_sp().encode(""), (Ids{}));
}

TEST(SentencePieceBpe, ByteFallbackSpellsUnknownCharactersAsBytes) {
  EXPECT_EQ(tiny_sp().encode("é"), (Ids{6, 4, 5}));  // é = C3 A9
}

TEST(SentencePieceBpe, UnknownWithoutByteTokensBecomesOneFusedUnk) {
  EXPECT_EQ(tiny_sp().encode("x"), (Ids{6, 0}));
  EXPECT_EQ(tiny_sp().encode("xyz"), (Ids{6, 0}));  // fuse_unk: three unknown characters, one <unk>
  auto json = qk::test::tiny_sentencepiece();
  json["model"]["fuse_unk"] = false;
  EXPECT_EQ(qk::Tokenizer::from_json_text(json.dump()).encode("xyz"), (Ids{6, 0, 0, 0}));
}

TEST(SentencePieceBpe, SpecialTokensSplitBeforeNormalizationAndEachPieceGetsPrefix) {
  // Pieces "hi " and "hi" are normalized separately: "▁hi▁" and "▁hi".
  EXPECT_EQ(tiny_sp().encode("hi <s>hi"), (Ids{6, 10, 6, 1, 6, 10}));
}

TEST(SentencePieceBpe, DecodeJoinsBytesAndStripsTheAddedSpace) {
  auto t = tiny_sp();
  EXPECT_EQ(t.decode(Ids{1, 6, 10}), "<s> hi");
  EXPECT_EQ(t.decode(Ids{1, 6, 10}, true), "hi");
  EXPECT_EQ(t.decode(Ids{6, 4, 5}), "é");
  EXPECT_EQ(t.decode(Ids{6, 4}), "\xEF\xBF\xBD");  // a lone lead byte is not UTF-8
  EXPECT_EQ(t.decode(t.encode("hi hi é")), "hi hi é");
}

TEST(Metaspace, PrependSchemeFirstOnlyAtTheStartOfTheText) {
  EXPECT_EQ(tiny_metaspace("first", true).encode("hi hi"), (Ids{6, 10, 6, 10}));
  EXPECT_EQ(tiny_metaspace("first", true).encode("<s>hi"), (Ids{1, 10}));
  EXPECT_EQ(tiny_metaspace("always", true).encode("<s>hi"), (Ids{1, 6, 10}));
  EXPECT_EQ(tiny_metaspace("never", true).encode("hi hi"), (Ids{10, 6, 10}));
}

TEST(Metaspace, SplitFalseKeepsOneWordSoMergesMayCrossSpaces) {
  auto json = qk::test::tiny_sentencepiece();
  json["normalizer"] = nullptr;
  json["model"]["vocab"]["i▁"] = 12;
  json["model"]["merges"].push_back("i ▁");
  json["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "always"}, {"split", false}};
  auto joined = qk::Tokenizer::from_json_text(json.dump());
  // "▁hi▁hi": h i (rank 0) at 1 and 4, then nothing else applies: "i ▁" lost its i to "hi".
  EXPECT_EQ(joined.encode("hi hi"), (Ids{6, 10, 6, 10}));
  EXPECT_EQ(joined.encode("i hi"), (Ids{6, 12, 10}));
  json["pre_tokenizer"]["split"] = true;
  EXPECT_EQ(qk::Tokenizer::from_json_text(json.dump()).encode("i hi"), (Ids{6, 8, 6, 10}));
}

TEST(Metaspace, LegacyAddPrefixSpaceField) {
  auto json = qk::test::tiny_sentencepiece();
  json["normalizer"] = nullptr;
  json["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "▁"}, {"add_prefix_space", false}};
  EXPECT_EQ(qk::Tokenizer::from_json_text(json.dump()).encode("hi hi"), (Ids{10, 6, 10}));
}

TEST(MetaspaceDecoder, DropsReplacementsOfTheFirstTokenUnlessNever) {
  auto json = qk::test::tiny_sentencepiece();
  json["decoder"] = {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "always"}, {"split", true}};
  EXPECT_EQ(qk::Tokenizer::from_json_text(json.dump()).decode(Ids{6, 10, 6, 10}), "hi hi");
  json["decoder"]["prepend_scheme"] = "never";
  EXPECT_EQ(qk::Tokenizer::from_json_text(json.dump()).decode(Ids{6, 10, 6, 10}), " hi hi");
}

}  // namespace

namespace {

// WordPiece-flavoured BPE options: a prefix on every non-initial symbol, a suffix on the last one.
TEST(BpeDecorations, ContinuingSubwordPrefixAndEndOfWordSuffix) {
  nlohmann::json prefix = {
      {"model", {{"type", "BPE"}, {"continuing_subword_prefix", "##"}, {"vocab", {{"a", 0}, {"##b", 1}, {"ab", 2}, {"##a", 3}}},
                 {"merges", nlohmann::json::array({"a ##b"})}}},
      {"pre_tokenizer", {{"type", "WhitespaceSplit"}}}};
  auto with_prefix = qk::Tokenizer::from_json_text(prefix.dump());
  EXPECT_EQ(with_prefix.encode("ab aa"), (Ids{2, 0, 3}));
  nlohmann::json suffix = {
      {"model", {{"type", "BPE"}, {"end_of_word_suffix", "</w>"}, {"vocab", {{"a", 0}, {"b</w>", 1}, {"ab</w>", 2}, {"a</w>", 3}}},
                 {"merges", nlohmann::json::array({"a b</w>"})}}},
      {"pre_tokenizer", {{"type", "WhitespaceSplit"}}}};
  auto with_suffix = qk::Tokenizer::from_json_text(suffix.dump());
  EXPECT_EQ(with_suffix.encode("ab  aa"), (Ids{2, 0, 3}));
}

TEST(Digits, IndividualOrContiguous) {
  nlohmann::json json = {
      {"model", {{"type", "BPE"}, {"vocab", {{"1", 0}, {"2", 1}, {"12", 2}, {"x", 3}}}, {"merges", nlohmann::json::array({"1 2"})}}},
      {"pre_tokenizer", {{"type", "Digits"}, {"individual_digits", true}}}};
  EXPECT_EQ(qk::Tokenizer::from_json_text(json.dump()).encode("x12"), (Ids{3, 0, 1}));
  json["pre_tokenizer"]["individual_digits"] = false;
  EXPECT_EQ(qk::Tokenizer::from_json_text(json.dump()).encode("x12"), (Ids{3, 2}));
}

}  // namespace
