// Judging a reply: the final answer it gives (answer_extraction.cpp), then whether that is the reference
// answer (answer_equivalence.cpp).
//
// Extraction rules, in order (docs/eval.md has the table):
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

// Is an extracted answer the reference answer? Both are normalised the same way, then compared by
// value where they are numbers, element by element where the reference is a set or a tuple, and as
// normalised strings otherwise. docs/eval.md lists each rule with where it follows math-verify and
// lm-evaluation-harness and where it differs (no symbolic algebra: "2x+2" is not "2(x+1)").

// LaTeX and text noise removed: $...$ and \( \) \[ \] delimiters, \left/\right, spacing commands,
// \text{}/\mathrm{}/\textbf{} wrappers, \dfrac/\tfrac -> \frac, \frac12 -> \frac{1}{2}, degrees,
// percent and currency signs, a leading "x =", units after a number, a final period, all whitespace.
std::string normalize_answer(std::string_view answer);

bool answers_equivalent(std::string_view predicted, std::string_view gold);

// One spelling per equivalence class of numbers ("1/2", "0.5", "\frac{2}{4}" -> "1/2"), the normalised
// text otherwise: the key that majority voting (maj@k) counts.
std::string canonical_answer(std::string_view answer);

}  // namespace qk::eval
