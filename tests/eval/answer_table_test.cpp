// The extraction + equivalence table of docs/eval.md, case by case: a model's reply, the reference
// answer, and whether qkrestore must count the reply correct. Each row names what it checks.
#include <gtest/gtest.h>

#include "eval/answers.hpp"

namespace {

struct Case {
  const char* what;
  const char* reply;
  const char* gold;
  bool correct;
};

const Case kCases[] = {
    {"answer-is sentence", "So she has 42 left. The answer is 42.", "42", true},
    {"GSM8K hashes", "3 + 4 = 7\n#### 7", "7", true},
    {"hashes then the next question", "#### 72\n\nQuestion: next", "72", true},
    {"boxed integer", "so we get \\boxed{42}", "42", true},
    {"fbox", "\\fbox{7}", "7", true},
    {"boxed fraction vs slash", "\\boxed{\\frac{1}{2}}", "1/2", true},
    {"boxed decimal vs frac", "\\boxed{0.5}", "\\frac{1}{2}", true},
    {"dfrac vs shorthand frac12", "\\boxed{\\dfrac{1}{2}}", "\\frac12", true},
    {"tfrac unreduced", "\\boxed{\\tfrac{2}{4}}", "1/2", true},
    {"thousands separators", "The answer is 1,234.", "1234", true},
    {"currency and trailing .00", "The answer is $1,234.00", "1234", true},
    {"negative", "The answer is -5.", "-5", true},
    {"explicit plus sign", "The answer is +7", "7", true},
    {"trailing .0", "The answer is 5.0", "5", true},
    {"leading zeros", "The answer is 007", "7", true},
    {"bare leading point", "The answer is .5", "0.5", true},
    {"percent sign", "The answer is 50%.", "50", true},
    {"percent word", "The answer is 20 percent.", "20", true},
    {"escaped percent", "\\boxed{25\\%}", "25", true},
    {"unit word", "The answer is 18 dollars.", "18", true},
    {"unit abbreviation", "The answer is 5 cm.", "5", true},
    {"decimal with unit", "The answer is 3.5 hours.", "3.5", true},
    {"text unit", "The answer is 3 \\text{ cm}", "3", true},
    {"euro sign", "The answer is \xE2\x82\xAC" "20.", "20", true},
    {"escaped dollar in box", "\\boxed{\\$5}", "5", true},
    {"degrees", "\\boxed{90^\\circ}", "90", true},
    {"degrees in braces", "\\boxed{90^{\\circ}}", "90^\\circ", true},
    {"fraction equals decimal", "The answer is 7/2", "3.5", true},
    {"no rounding: 0.333 is not 1/3", "The answer is 0.333", "1/3", false},
    {"negative frac vs decimal", "\\boxed{-\\frac{1}{2}}", "-0.5", true},
    {"sign inside frac", "\\boxed{\\frac{-1}{2}}", "-\\frac12", true},
    {"wrong number", "\\boxed{10}", "100", false},
    {"sqrt shorthand", "\\boxed{\\sqrt{2}}", "\\sqrt2", true},
    {"nested braces in box", "\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt3}{2}", true},
    {"LaTeX spacing", "\\boxed{2\\,\\pi}", "2 \\pi", true},
    {"symbol", "\\boxed{\\pi}", "\\pi", true},
    {"left/right tuple", "\\boxed{\\left( 1, 2 \\right)}", "(1,2)", true},
    {"tuple order matters", "\\boxed{(2,1)}", "(1,2)", false},
    {"interval is not a tuple", "\\boxed{[1,2]}", "(1,2)", false},
    {"half-open interval", "\\boxed{\\left[ 0, 1 \\right)}", "[0,1)", true},
    {"set in any order", "\\boxed{\\{3, 1, 2\\}}", "\\{1,2,3\\}", true},
    {"set missing an element", "\\boxed{\\{1,2\\}}", "\\{1,2,3\\}", false},
    {"bare list in any order", "\\boxed{3, 1, 2}", "1, 2, 3", true},
    {"list is not a number with separators", "The answer is 1,2", "12", false},
    {"LaTeX thousands separator", "\\boxed{1{,}000}", "1000", true},
    {"hashes with separators", "#### 1,000,000", "1000000", true},
    {"multiple choice in text", "\\boxed{\\text{(C)}}", "C", true},
    {"variable assignment", "\\boxed{x = 5}", "5", true},
    {"Minerva's final-answer sentence", "The final answer is $\\frac{3}{4}$. I hope it is correct.", "0.75", true},
    {"Answer: colon form", "Answer: 12", "12", true},
    {"answer-is then a clause", "The answer is 12, which is even.", "12", true},
    {"markdown bold", "The answer is **42**.", "42", true},
    {"last answer-is wins", "The answer is 4.\nActually, the answer is 6.", "6", true},
    {"last boxed wins", "\\boxed{a} no, \\boxed{b}", "b", true},
    {"boxed outranks answer-is", "\\boxed{5} and then the answer is 6", "5", true},
    {"boxed inside answer-is", "The answer is \\boxed{12}.", "12", true},
    {"last-number fallback", "I think 12 apples, then 15 apples", "15", true},
    {"last-number fallback, equation", "Total: 5 + 3 = 8", "8", true},
    {"nothing to extract", "no numbers here", "3", false},
    {"empty box", "\\boxed{}", "0", false},
    {"think block dropped", "<think>maybe 3</think> The answer is 4.", "4", true},
    {"think block's answer ignored", "<think>The answer is 4.</think> The answer is 5.", "4", false},
    {"think never closed: no answer", "<think>the answer is 4 and then it was cut", "4", false},
    {"no symbolic algebra", "\\boxed{2x+2}", "2(x+1)", false},
    {"dollar-delimited math", "The answer is $12$.", "12", true},
    {"redundant group in a box", "\\boxed{{7}}", "7", true},
    {"two redundant groups", "\\boxed{{{7}}}", "7", true},
    {"redundant group with spaces", "\\boxed{ { 7 } }", "7", true},
    {"redundant group around a fraction", "\\boxed{{\\frac{1}{2}}}", "0.5", true},
    {"redundant group in the gold", "\\boxed{7}", "{7}", true},
    {"redundant group, wrong value", "\\boxed{{8}}", "7", false},
    {"two groups are not one", "\\boxed{{1}{2}}", "1", false},
    {"escaped set braces stay a set", "\\boxed{\\{7\\}}", "7", false},
};

class AnswerTable : public testing::TestWithParam<Case> {};

TEST_P(AnswerTable, VerdictAsDocumented) {
  const Case& c = GetParam();
  const auto extraction = qk::eval::extract_answer(c.reply);
  const bool correct = !extraction.answer.empty() && qk::eval::answers_equivalent(extraction.answer, c.gold);
  EXPECT_EQ(correct, c.correct) << c.what << ": reply \"" << c.reply << "\" extracted \"" << extraction.answer
                                << "\" (rule " << qk::eval::extraction_rule_name(extraction.rule) << "), gold \""
                                << c.gold << "\"";
}

INSTANTIATE_TEST_SUITE_P(Cases, AnswerTable, testing::ValuesIn(kCases), [](const auto& info) {
  std::string name;
  for (const char* p = info.param.what; *p; ++p) name += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
  return name + "_" + std::to_string(info.index);
});

TEST(AnswerTable, HasAtLeastSixtyCases) { EXPECT_GE(std::size(kCases), 60u); }

TEST(Extraction, RulesAreReported) {
  using qk::eval::ExtractionRule;
  EXPECT_EQ(qk::eval::extract_answer("\\boxed{1}").rule, ExtractionRule::Boxed);
  EXPECT_EQ(qk::eval::extract_answer("#### 1").rule, ExtractionRule::Hashes);
  EXPECT_EQ(qk::eval::extract_answer("The answer is 1").rule, ExtractionRule::AnswerIs);
  EXPECT_EQ(qk::eval::extract_answer("it is 1").rule, ExtractionRule::LastNumber);
  EXPECT_EQ(qk::eval::extract_answer("none").rule, ExtractionRule::None);
  const auto think = qk::eval::extract_answer("<think>x</think>#### 2");
  EXPECT_TRUE(think.think_dropped);
  EXPECT_EQ(think.answer, "2");
  EXPECT_TRUE(qk::eval::extract_answer("<think>cut").think_unclosed);
}

TEST(Extraction, BoxedWithEscapedBracesAndCutBox) {
  EXPECT_EQ(qk::eval::last_boxed_content("\\boxed{\\{1,2\\}}").value(), "\\{1,2\\}");
  EXPECT_FALSE(qk::eval::last_boxed_content("\\boxed{\\frac{1}{2").has_value());  // cut inside the box
  EXPECT_EQ(qk::eval::last_boxed_content("$\\boxed 5$").value(), "5");
}

TEST(Equivalence, CanonicalFormsGroupEqualNumbers) {
  using qk::eval::canonical_answer;
  EXPECT_EQ(canonical_answer("0.5"), canonical_answer("\\frac{2}{4}"));
  EXPECT_EQ(canonical_answer("1,000"), "1000");
  EXPECT_EQ(canonical_answer("-3/6"), "-1/2");
  EXPECT_NE(canonical_answer("0.333"), canonical_answer("1/3"));
  EXPECT_EQ(canonical_answer("\\pi"), "\\pi");
}

TEST(Equivalence, HugeNumbersCompareWithoutOverflow) {
  EXPECT_TRUE(qk::eval::answers_equivalent("123456789012345678901234567890", "123456789012345678901234567890.0"));
  EXPECT_FALSE(qk::eval::answers_equivalent("123456789012345678901234567890", "123456789012345678901234567891"));
  EXPECT_TRUE(qk::eval::answers_equivalent("\\frac{123456789012345678}{987654321098765432}",
                                           "\\frac{246913578024691356}{1975308642197530864}"));
}

}  // namespace
