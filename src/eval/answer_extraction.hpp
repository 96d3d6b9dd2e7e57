// From a model's reply to the final answer it gives. The rules, in order (docs/eval.md has the table):
//   0. reasoning: text up to the last </think> is dropped (counted); a reply whose <think> never
//      closes (cut by max_tokens while thinking) has no answer;
//   1. the last \boxed{...} or \fbox{...} (nested braces followed), as math-verify and MATH's own
//      scorer read a reply;
//   2. the text after the last "####" (GSM8K's format), to the end of its line;
//   3. the text after the last "answer is" / "answer:" (any case), to the end of its sentence;
//   4. the last number in the reply (lm-evaluation-harness's "flexible-extract" for GSM8K).
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace qk::eval {

enum class ExtractionRule { Boxed, Hashes, AnswerIs, LastNumber, None };
const char* extraction_rule_name(ExtractionRule rule);  // boxed | hashes | answer_is | last_number | none

struct Extraction {
  std::string answer;  // as written in the reply (equivalence normalises it); empty with rule None
  ExtractionRule rule = ExtractionRule::None;
  bool think_dropped = false;   // a <think>...</think> block was removed before extraction
  bool think_unclosed = false;  // the reply opened <think> and never closed it: no answer
};

Extraction extract_answer(std::string_view reply);

// The content of the last \boxed{...} / \fbox{...} (or "\boxed 5"), braces balanced; nullopt if none.
std::optional<std::string> last_boxed_content(std::string_view text);

std::string strip_spaces(std::string_view text);  // ASCII whitespace at both ends

}  // namespace qk::eval
