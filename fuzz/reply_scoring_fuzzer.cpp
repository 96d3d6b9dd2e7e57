// Fuzzes how a model's reply is judged: the reasoning eval's answer extraction and equivalence, and
// NIAH's prediction scoring. A reply is whatever the model wrote (any bytes, cut anywhere by
// max_tokens), so none of this may throw at all, and every score must stay in its range.
// Input: the reply, then a NUL byte, then the reference answer (no NUL: the reference is "42").
#include <cmath>
#include <string>
#include <string_view>

#include "eval/answers.hpp"
#include "fuzz_support.hpp"
#include "niah/scoring.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = qk::fuzz::as_text(data, size);
  const std::size_t nul = input.find('\0');
  const std::string_view reply = input.substr(0, nul);
  const std::string_view gold = nul == std::string_view::npos ? std::string_view("42") : input.substr(nul + 1);

  const qk::eval::Extraction extraction = qk::eval::extract_answer(reply);
  if (extraction.rule == qk::eval::ExtractionRule::None && !extraction.answer.empty()) __builtin_trap();
  qk::eval::answers_equivalent(extraction.answer, gold);
  qk::eval::answers_equivalent(reply, gold);
  // maj@k counts canonical spellings: one answer must get one spelling every time it is asked.
  if (qk::eval::canonical_answer(reply) != qk::eval::canonical_answer(reply)) __builtin_trap();
  qk::eval::normalize_answer(gold);
  qk::eval::last_boxed_content(reply);

  const double score = qk::niah::string_match_all(reply, {std::string(gold), "7216538"});
  if (!(score >= 0.0 && score <= 1.0)) __builtin_trap();
  qk::niah::postprocess_prediction(reply);
  return 0;
}
