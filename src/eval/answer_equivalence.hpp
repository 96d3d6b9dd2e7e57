// Is an extracted answer the reference answer? Both are normalised the same way, then compared by
// value where they are numbers, element by element where the reference is a set or a tuple, and as
// normalised strings otherwise. docs/eval.md lists each rule with where it follows math-verify and
// lm-evaluation-harness and where it differs (no symbolic algebra: "2x+2" is not "2(x+1)").
#pragma once
#include <string>
#include <string_view>

namespace qk::eval {

// LaTeX and text noise removed: $...$ and \( \) \[ \] delimiters, \left/\right, spacing commands,
// \text{}/\mathrm{}/\textbf{} wrappers, \dfrac/\tfrac -> \frac, \frac12 -> \frac{1}{2}, degrees,
// percent and currency signs, a leading "x =", units after a number, a final period, all whitespace.
std::string normalize_answer(std::string_view answer);

bool answers_equivalent(std::string_view predicted, std::string_view gold);

// One spelling per equivalence class of numbers ("1/2", "0.5", "\frac{2}{4}" -> "1/2"), the normalised
// text otherwise: the key that majority voting (maj@k) counts.
std::string canonical_answer(std::string_view answer);

}  // namespace qk::eval
