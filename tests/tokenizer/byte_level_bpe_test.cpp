#include <gtest/gtest.h>

#include "tiny_tokenizers.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

namespace {

using Ids = std::vector<std::int32_t>;

qk::Tokenizer tiny(bool pairs = true) {
  return qk::Tokenizer::from_json_text(qk::test::tiny_byte_level(pairs).dump(), "tiny_byte_level.json");
}

TEST(ByteLevelMap, PrintableBytesKeepTheirCharacterOthersShiftAbove255) {
  const auto& map = qk::tok::ByteLevelMap::get();
  EXPECT_EQ(static_cast<std::uint32_t>(map.char_of('a')), 0x61u);
  EXPECT_EQ(static_cast<std::uint32_t>(map.char_of(' ')), 0x120u);   // Ġ
  EXPECT_EQ(static_cast<std::uint32_t>(map.char_of('\n')), 0x10Au);  // Ċ
  EXPECT_EQ(static_cast<std::uint32_t>(map.char_of(0xAD)), 0x143u);  // soft hyphen: the last of the 68 shifted bytes
  std::vector<bool> seen(512, false);
  for (int b = 0; b < 256; ++b) {
    char32_t c = map.char_of(static_cast<unsigned char>(b));
    ASSERT_LT(c, 512u);
    EXPECT_FALSE(seen[c]) << "two bytes map to U+" << std::hex << static_cast<std::uint32_t>(c);
    seen[c] = true;
    EXPECT_EQ(map.byte_of(c), static_cast<unsigned char>(b));
  }
  EXPECT_FALSE(map.byte_of(U'\u0144').has_value());
}

TEST(ByteLevelMap, EncodesRawBytesAsCharacters) {
  std::string out;
  qk::tok::ByteLevelMap::get().encode("a b\n", out);
  EXPECT_EQ(out, "aĠbĊ");
}

TEST(ByteLevelBpe, LowerRankedMergeWinsOverLeftmostPair) {
  // "abc": "a b" (rank 0) beats "b c" (rank 1), then "ab c" makes abc.
  EXPECT_EQ(tiny().encode("abc"), (Ids{6}));
  // "bcab": "a b" is applied first at position 2, then "b c" at 0.
  EXPECT_EQ(tiny().encode("bcab"), (Ids{5, 4}));
  // " a" is one pre-token (GPT-2 regex keeps the leading space) and merges "Ġ a".
  EXPECT_EQ(tiny().encode("c a"), (Ids{2, 7}));
}

TEST(ByteLevelBpe, StringAndPairMergeFormsAgree) {
  for (const char* text : {"abc", "bcab", "c a", "abcabc bca", "a!b"}) EXPECT_EQ(tiny(true).encode(text), tiny(false).encode(text)) << text;
}

TEST(ByteLevelBpe, CharactersOutsideTheVocabAreDroppedWithoutUnkToken) {
  // 'x' is unknown and there is no unk_token: it vanishes before merging, so a and b still merge.
  EXPECT_EQ(tiny().encode("axb"), (Ids{4}));
}

TEST(ByteLevelBpe, SpecialTokenIsSplitOutAndPostProcessorKeepsIds) {
  EXPECT_EQ(tiny().encode("ab<|eot|>c"), (Ids{4, 9, 2}));
  EXPECT_EQ(tiny().encode("ab<|eot|>c", true), (Ids{4, 9, 2}));
}

TEST(ByteLevelBpe, DecodeRestoresBytesAndSkipsSpecialTokens) {
  auto t = tiny();
  Ids ids = t.encode("abc a<|eot|>");
  EXPECT_EQ(t.decode(ids), "abc a<|eot|>");
  EXPECT_EQ(t.decode(ids, true), "abc a");
  EXPECT_EQ(t.decode(Ids{999, 0}), "a");  // unknown ids are skipped
}

TEST(ByteLevelBpe, VocabLookups) {
  auto t = tiny();
  EXPECT_EQ(t.vocab_size(), 10u);
  EXPECT_EQ(t.token_to_id("<|eot|>"), 9);
  EXPECT_EQ(t.token_to_id("Ġa"), 7);
  EXPECT_EQ(t.id_to_token(6), "abc");
  EXPECT_FALSE(t.id_to_token(77).has_value());
}

TEST(ByteLevelBpe, IgnoreMergesTakesWholeWordFromVocab) {
  auto json = qk::test::tiny_byte_level(true);
  json["model"]["vocab"]["bca"] = 10;  // reachable by no merge
  auto without = qk::Tokenizer::from_json_text(json.dump());
  EXPECT_EQ(without.encode("bca"), (Ids{5, 0}));
  json["model"]["ignore_merges"] = true;
  auto with = qk::Tokenizer::from_json_text(json.dump());
  EXPECT_EQ(with.encode("bca"), (Ids{10}));
}

// Found by fuzz_tokenizer_json (fuzz/regressions/tokenizer_json/): a number too large for a double is
// nlohmann's out_of_range, not a parse_error, and escaped as an internal error.
TEST(TokenizerErrors, NumberOverflowIsAFormatErrorNamingTheFile) {
  for (const char* text : {R"({"model": 1e400})", "88888888888888E88888888888888888888888888888888"}) {
    try {
      qk::Tokenizer::from_json_text(text, "models/x/tokenizer.json");
      ADD_FAILURE() << text << " was accepted";
    } catch (const qk::Error& e) {
      EXPECT_EQ(e.kind(), qk::ErrorKind::Format) << e.what();
      EXPECT_NE(std::string(e.what()).find("models/x/tokenizer.json is not valid JSON"), std::string::npos) << e.what();
    }
  }
}

TEST(TokenizerErrors, UnsupportedComponentNamesTypeAndFile) {
  auto json = qk::test::tiny_byte_level(true);
  json["normalizer"] = {{"type", "BertNormalizer"}};
  try {
    qk::Tokenizer::from_json_text(json.dump(), "models/x/tokenizer.json");
    FAIL() << "expected qk::Error";
  } catch (const qk::Error& e) {
    EXPECT_EQ(e.kind(), qk::ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("BertNormalizer"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("models/x/tokenizer.json"), std::string::npos) << e.what();
  }
  // Every component kind names the type it does not know.
  for (auto [field, type] : {std::pair{"pre_tokenizer", "BertPreTokenizer"}, {"decoder", "WordPiece"},
                             {"post_processor", "NoSuchProcessor"}, {"normalizer", "Precompiled"}}) {
    json = qk::test::tiny_byte_level(true);
    json[field] = {{"type", type}};
    try {
      qk::Tokenizer::from_json_text(json.dump(), "t.json");
      ADD_FAILURE() << field << " " << type << " was accepted";
    } catch (const qk::Error& e) {
      EXPECT_NE(std::string(e.what()).find(type), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("t.json"), std::string::npos) << e.what();
    }
  }
  json = qk::test::tiny_byte_level(true);
  json["model"]["type"] = "Unigram";
  EXPECT_THROW(qk::Tokenizer::from_json_text(json.dump()), qk::Error);
  json = qk::test::tiny_byte_level(true);
  json["model"]["merges"].push_back("a zz");
  EXPECT_THROW(qk::Tokenizer::from_json_text(json.dump()), qk::Error);
  EXPECT_THROW(qk::Tokenizer::from_json_text("{not json"), qk::Error);
  EXPECT_THROW(qk::Tokenizer::from_file("/nonexistent/tokenizer.json"), qk::Error);
}

}  // namespace
