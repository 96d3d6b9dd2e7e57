// Text as it is generated: never half a character, never the start of a stop string; the pieces
// assemble to the whole text. On the byte-level test tokenizer (one token per byte), the hardest case.
#include <gtest/gtest.h>

#include "engine_service/text_assembler.hpp"
#include "support/test_models.hpp"

using namespace qk;
using namespace qk::engine_service;

namespace {

Tokenizer tiny_tokenizer() { return Tokenizer::from_file(qk::test::tiny_engine_model() / "tokenizer.json"); }

// Feeds the tokens one at a time, as the engine does; returns the pieces (the last one final).
std::vector<TextPiece> feed(TextAssembler& text, const std::vector<std::int32_t>& tokens) {
  std::vector<TextPiece> pieces;
  std::vector<std::int32_t> so_far;
  for (auto t : tokens) {
    so_far.push_back(t);
    if (text.update(so_far)) break;
    pieces.push_back(text.take(false));
  }
  pieces.push_back(text.take(true));
  return pieces;
}

TEST(TextAssembler, NeverSplitsACharacterAndAssemblesToTheDecodedText) {
  const Tokenizer tokenizer = tiny_tokenizer();
  const std::string original = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80 ok";  // 2-, 3- and 4-byte characters
  const auto tokens = tokenizer.encode(original);
  ASSERT_GT(tokens.size(), 10u);
  TextAssembler text(tokenizer, {});
  std::string assembled;
  std::size_t covered = 0;
  for (const auto& piece : feed(text, tokens)) {
    EXPECT_EQ(piece.text.find("\xEF\xBF\xBD"), std::string::npos) << "a piece holds half a character";
    assembled += piece.text;
    EXPECT_EQ(piece.first_token, covered);
    covered = piece.end_token;
  }
  EXPECT_EQ(assembled, original);
  EXPECT_EQ(covered, tokens.size());
  // The euro sign belongs to the token that completes it.
  const std::size_t euro = original.find("\xE2\x82\xAC");
  EXPECT_EQ(text.token_start(euro + 2), euro);
  EXPECT_EQ(text.token_start(euro + 3), euro + 3);
}

TEST(TextAssembler, HoldsBackAPossibleStopStringAndCutsBeforeIt) {
  const Tokenizer tokenizer = tiny_tokenizer();
  TextAssembler text(tokenizer, {"STOP", "nowhere"});
  const auto tokens = tokenizer.encode("one ST two STOP three");
  std::string assembled;
  for (const auto& piece : feed(text, tokens)) assembled += piece.text;
  EXPECT_EQ(assembled, "one ST two ");
  EXPECT_TRUE(text.stopped());
  EXPECT_EQ(text.kept_tokens(), std::string("one ST two ").size());
  // "ST" was held back until the next token showed it was not "STOP".
  TextAssembler again(tokenizer, {"STOP"});
  std::vector<std::int32_t> so_far;
  for (auto t : tokenizer.encode("one ST")) {
    so_far.push_back(t);
    again.update(so_far);
  }
  EXPECT_EQ(again.take(false).text, "one ");
  EXPECT_EQ(again.take(true).text, "ST");  // generation ended: nothing is held back
}

}  // namespace
