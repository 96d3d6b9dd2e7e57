// Reasoning problem sets: GSM8K's JSONL (`question`, `answer` ending in "#### N"), MATH / MATH-500
// (`problem`, and `answer` or the last \boxed{} of `solution`), or any JSONL with named fields.
// A file is read whole and checked before anything is run or scored: a malformed line, a missing or
// wrongly typed field, a duplicate id or an empty file is an Error(Format) naming the file and line.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace qk::eval {

enum class ProblemFormat { Auto, Gsm8k, Math, Jsonl };
ProblemFormat parse_problem_format(const std::string& name);  // auto | gsm8k | math | jsonl
const char* problem_format_name(ProblemFormat format);

struct ProblemFileOptions {
  ProblemFormat format = ProblemFormat::Auto;
  std::string question_field = "question";  // jsonl only
  std::string answer_field = "answer";      // jsonl only
};

struct Problem {
  std::string id;        // the line's "id" or "unique_id", else its 1-based line number
  std::string question;
  std::string gold;      // the reference final answer (after "####", or inside the last \boxed{})
  std::string solution;  // the reference answer as written (worked solution when the file has one): k-shot examples
  std::size_t line = 0;
};

std::vector<Problem> read_problems(const std::filesystem::path& path, const ProblemFileOptions& options = {});

// The final answer a reference solution states: after its last "####" (GSM8K), else inside its last
// \boxed{} or \fbox{} (MATH), else the whole text, stripped.
std::string final_answer_of_solution(const std::string& solution);

}  // namespace qk::eval
