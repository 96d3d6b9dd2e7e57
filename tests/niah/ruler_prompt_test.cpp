#include <gtest/gtest.h>

#include <regex>

#include "niah/needle_values.hpp"
#include "niah/ruler_prompt.hpp"
#include "niah/random.hpp"
#include "util/error.hpp"

using namespace qk::niah;

// The expected strings are RULER's prompt as printed by its niah.py for S2 (one number) and MV (four).
TEST(NiahPrompt, SingleAnswerIsMadeSingular) {
  PromptFrame frame = build_prompt_frame(qk::backend::builtin_model_template("base"), "numbers", "wry-dog", true);
  EXPECT_EQ(frame.head,
            "A special magic number is hidden within the following text. Make sure to memorize it. I will quiz you "
            "about the number afterwards.\n");
  EXPECT_EQ(frame.tail,
            "\nWhat is the special magic number for wry-dog mentioned in the provided text? The special magic number "
            "for wry-dog mentioned in the provided text is");
  EXPECT_EQ(frame.tail.substr(frame.answer_prefix_offset),
            " The special magic number for wry-dog mentioned in the provided text is");
}

TEST(NiahPrompt, SeveralAnswersStayPlural) {
  PromptFrame frame = build_prompt_frame(qk::backend::builtin_model_template("base"), "numbers", "a-b, c-d, e-f, and g-h", false);
  EXPECT_EQ(frame.head,
            "Some special magic numbers are hidden within the following text. Make sure to memorize it. I will quiz "
            "you about the numbers afterwards.\n");
  EXPECT_EQ(frame.tail.substr(frame.answer_prefix_offset),
            " The special magic numbers for a-b, c-d, e-f, and g-h mentioned in the provided text are");
}

TEST(NiahPrompt, ChatTemplatesWrapTheTaskAndPutThePrefixInTheAssistantTurn) {
  PromptFrame frame = build_prompt_frame(qk::backend::builtin_model_template("chatml"), "uuids", "k", true);
  EXPECT_TRUE(frame.head.starts_with("<|im_start|>user\nA special magic uuid is hidden"));
  const std::string before_prefix = frame.tail.substr(0, frame.answer_prefix_offset);
  EXPECT_TRUE(before_prefix.ends_with("provided text?<|im_end|>\n<|im_start|>assistant\n")) << before_prefix;
  PromptFrame llama = build_prompt_frame(qk::backend::builtin_model_template("llama-3"), "numbers", "k", true);
  EXPECT_TRUE(llama.head.starts_with("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"));
  EXPECT_TRUE(llama.tail.substr(0, llama.answer_prefix_offset).ends_with("<|start_header_id|>assistant<|end_header_id|>\n\n"));
}

TEST(NiahPrompt, QueriesJoinLikeRuler) {
  EXPECT_EQ(join_queries({"a"}), "a");
  EXPECT_EQ(join_queries({"a", "b"}), "a, and b");
  EXPECT_EQ(join_queries({"a", "b", "c", "d"}), "a, b, c, and d");
}

TEST(NiahPrompt, NeedleKeepsThePluralType) {
  EXPECT_EQ(format_needle("numbers", "wry-dog", "1234567"), "One of the special magic numbers for wry-dog is: 1234567.");
}

TEST(NiahValues, NumbersUuidsAndWordsHaveRulersShapes) {
  Rng rng(5);
  WordList words({"blue", "wry"}, {"dog", "cat", "dog"});
  EXPECT_EQ(words.size(), 4u);  // duplicates removed, like RULER's sorted(set(...))
  const std::regex uuid4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  const std::regex pair("(blue|wry)-(cat|dog)");
  for (int i = 0; i < 200; ++i) {
    std::string number = random_number(rng);
    ASSERT_EQ(number.size(), 7u);
    ASSERT_NE(number[0], '0');
    ASSERT_TRUE(std::regex_match(random_uuid(rng), uuid4));
    ASSERT_TRUE(std::regex_match(words.random_pair(rng), pair));
  }
}
