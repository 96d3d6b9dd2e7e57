#include "eval/problems.hpp"

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "eval/answers.hpp"
#include "util/error.hpp"

namespace qk::eval {

ProblemFormat parse_problem_format(const std::string& name) {
  if (name == "auto") return ProblemFormat::Auto;
  if (name == "gsm8k") return ProblemFormat::Gsm8k;
  if (name == "math") return ProblemFormat::Math;
  if (name == "jsonl") return ProblemFormat::Jsonl;
  fail(ErrorKind::Usage, "--format must be auto, gsm8k, math or jsonl, not '{}'", name);
}

const char* problem_format_name(ProblemFormat format) {
  switch (format) {
    case ProblemFormat::Auto: return "auto";
    case ProblemFormat::Gsm8k: return "gsm8k";
    case ProblemFormat::Math: return "math";
    case ProblemFormat::Jsonl: return "jsonl";
  }
  return "?";
}

std::string final_answer_of_solution(const std::string& solution) {
  if (const auto hashes = solution.rfind("####"); hashes != std::string::npos)
    return strip_spaces(solution.substr(hashes + 4));
  if (auto boxed = last_boxed_content(solution)) return strip_spaces(*boxed);
  return strip_spaces(solution);
}

namespace {

// A field's text: strings as they are, numbers as JSON writes them (GSM8K-like files sometimes hold
// the answer as a number).
std::string text_field(const nlohmann::json& line, const std::string& field, const std::string& where) {
  const auto it = line.find(field);
  if (it == line.end()) fail(ErrorKind::Format, "{}: no \"{}\" field", where, field);
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  fail(ErrorKind::Format, "{}: \"{}\" must be a string or a number, not {}", where, field, it->type_name());
}

ProblemFormat detect_format(const nlohmann::json& line) {
  if (line.contains("problem")) return ProblemFormat::Math;
  if (line.contains("question") && line.contains("answer")) return ProblemFormat::Gsm8k;
  return ProblemFormat::Jsonl;
}

Problem parse_line(const nlohmann::json& line, ProblemFormat format, const ProblemFileOptions& options,
                   const std::string& where) {
  Problem p;
  switch (format) {
    case ProblemFormat::Gsm8k: {
      p.question = text_field(line, "question", where);
      p.solution = text_field(line, "answer", where);
      const auto hashes = p.solution.rfind("####");
      if (hashes == std::string::npos)
        fail(ErrorKind::Format, "{}: a GSM8K \"answer\" ends in \"#### N\"; this one has no \"####\"", where);
      p.gold = strip_spaces(p.solution.substr(hashes + 4));
      break;
    }
    case ProblemFormat::Math: {
      p.question = text_field(line, "problem", where);
      if (line.contains("solution")) p.solution = text_field(line, "solution", where);
      if (line.contains("answer")) {
        p.gold = strip_spaces(text_field(line, "answer", where));
        if (p.solution.empty()) p.solution = p.gold;
      } else if (!p.solution.empty()) {
        auto boxed = last_boxed_content(p.solution);
        if (!boxed) fail(ErrorKind::Format, "{}: no \"answer\" field and no \\boxed{{}} in \"solution\"", where);
        p.gold = strip_spaces(*boxed);
      } else {
        fail(ErrorKind::Format, "{}: a MATH problem needs \"answer\" or \"solution\"", where);
      }
      break;
    }
    case ProblemFormat::Jsonl:
    case ProblemFormat::Auto: {
      p.question = text_field(line, options.question_field, where);
      p.solution = text_field(line, options.answer_field, where);
      p.gold = final_answer_of_solution(p.solution);
      break;
    }
  }
  if (strip_spaces(p.question).empty()) fail(ErrorKind::Format, "{}: the question is empty", where);
  if (p.gold.empty()) fail(ErrorKind::Format, "{}: the reference answer is empty", where);
  for (const char* id_field : {"id", "unique_id"}) {
    const auto it = line.find(id_field);
    if (it == line.end()) continue;
    if (it->is_string()) p.id = it->get<std::string>();
    else if (it->is_number_integer()) p.id = it->dump();
    else fail(ErrorKind::Format, "{}: \"{}\" must be a string or an integer", where, id_field);
    break;
  }
  return p;
}

}  // namespace

std::vector<Problem> read_problems(const std::filesystem::path& path, const ProblemFileOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, "cannot open problem file {}", path.string());
  std::vector<Problem> problems;
  std::set<std::string> ids;
  ProblemFormat format = options.format;
  std::string text;
  for (std::size_t number = 1; std::getline(in, text); ++number) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path.string() + ":" + std::to_string(number);
    nlohmann::json line;
    try {
      line = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorKind::Format, "{}: not a JSON line ({})", where, e.what());
    }
    if (!line.is_object()) fail(ErrorKind::Format, "{}: a problem line must be a JSON object", where);
    if (format == ProblemFormat::Auto) format = detect_format(line);
    Problem problem = parse_line(line, format, options, where);
    problem.line = number;
    if (problem.id.empty()) problem.id = std::to_string(number);
    if (!ids.insert(problem.id).second) fail(ErrorKind::Format, "{}: id \"{}\" appears twice", where, problem.id);
    problems.push_back(std::move(problem));
  }
  if (in.bad()) fail(ErrorKind::Io, "reading {} failed", path.string());
  if (problems.empty()) fail(ErrorKind::Format, "{} holds no problems (empty file)", path.string());
  return problems;
}

}  // namespace qk::eval
