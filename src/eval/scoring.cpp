#include "eval/scoring.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "eval/answers.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk::eval {
namespace {

struct Reply {
  std::string pred, finish_reason;
};

struct Judged {
  Extraction extraction;
  bool correct = false;
};

Judged judge(const Reply& reply, const std::string& gold) {
  Judged j{extract_answer(reply.pred), false};
  j.correct = !j.extraction.answer.empty() && answers_equivalent(j.extraction.answer, gold);
  return j;
}

// The answer most replies gave (by canonical form); ties go to the one given first.
std::size_t majority_index(const std::vector<Judged>& judged) {
  std::map<std::string, std::pair<std::size_t, std::size_t>> votes;  // canonical -> (count, first index)
  for (std::size_t i = 0; i < judged.size(); ++i) {
    if (judged[i].extraction.answer.empty()) continue;
    auto [it, inserted] = votes.try_emplace(canonical_answer(judged[i].extraction.answer), 0, i);
    ++it->second.first;
  }
  std::size_t best = 0, best_count = 0, best_first = judged.size();
  for (const auto& [key, vote] : votes)
    if (vote.first > best_count || (vote.first == best_count && vote.second < best_first))
      best = vote.second, best_count = vote.first, best_first = vote.second;
  return best;
}

std::string_view string_field(simdjson::ondemand::object& object, std::string_view key, const std::string& where,
                              bool required = true) {
  auto field = object.find_field_unordered(key);
  if (field.error() == simdjson::NO_SUCH_FIELD) {
    if (required) fail(ErrorKind::Format, "{}: no \"{}\" field", where, key);
    return {};
  }
  if (field.error()) fail(ErrorKind::Format, "{}: not a JSON object ({})", where, simdjson::error_message(field.error()));
  std::string_view value;
  if (field.get_string().get(value)) fail(ErrorKind::Format, "{}: \"{}\" must be a string", where, key);
  return value;
}

}  // namespace

ReasoningSummary score_reasoning_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, "cannot open predictions {}", path.string());
  ReasoningSummary s;
  s.title = path.stem().string();
  std::vector<double> pass_sums;
  simdjson::ondemand::parser parser;
  std::string buffer;
  std::vector<Reply> replies;
  for (std::size_t number = 1; std::getline(in, buffer); ++number) {
    if (buffer.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", path.string(), number);
    const std::size_t length = buffer.size();
    buffer.resize(length + simdjson::SIMDJSON_PADDING);
    std::string id, gold;
    replies.clear();
    try {
      simdjson::ondemand::document doc = parser.iterate(buffer.data(), length, buffer.size());
      simdjson::ondemand::object object;
      if (doc.get_object().get(object)) fail(ErrorKind::Format, "{}: a prediction line must be a JSON object", where);
      id = std::string(string_field(object, "id", where));
      gold = std::string(string_field(object, "gold", where));
      auto samples = object.find_field_unordered("samples");
      if (samples.error() == simdjson::SUCCESS) {
        simdjson::ondemand::array array;
        if (samples.get_array().get(array)) fail(ErrorKind::Format, "{}: \"samples\" must be an array", where);
        for (auto element : array) {
          simdjson::ondemand::object sample;
          if (element.get_object().get(sample)) fail(ErrorKind::Format, "{}: each of \"samples\" must be an object", where);
          Reply r;
          r.pred = std::string(string_field(sample, "pred", where));
          r.finish_reason = std::string(string_field(sample, "finish_reason", where, false));
          replies.push_back(std::move(r));
        }
      }
      if (replies.empty()) {
        Reply r;
        r.pred = std::string(string_field(object, "pred", where));
        r.finish_reason = std::string(string_field(object, "finish_reason", where, false));
        replies.push_back(std::move(r));
      }
    } catch (const simdjson::simdjson_error& e) {
      fail(ErrorKind::Format, "{}: not a prediction line ({})", where, e.what());
    }
    if (replies.empty()) fail(ErrorKind::Format, "{}: \"samples\" is empty", where);
    if (s.per_problem.count(id)) fail(ErrorKind::Format, "{}: id \"{}\" appears twice", where, id);

    std::vector<Judged> judged;
    std::size_t correct = 0;
    for (const auto& reply : replies) {
      judged.push_back(judge(reply, gold));
      const Judged& j = judged.back();
      correct += j.correct;
      s.truncated += reply.finish_reason == "length";
      s.think_dropped += j.extraction.think_dropped;
      s.think_unclosed += j.extraction.think_unclosed;
      s.no_answer += j.extraction.answer.empty();
      ++s.replies;
      s.empty_replies += reply.pred.find_first_not_of(" \t\r\n") == std::string::npos;
      ++s.rules[extraction_rule_name(j.extraction.rule)];
    }
    const bool headline = judged.size() == 1 ? judged[0].correct : judged[majority_index(judged)].correct;
    s.per_problem[id] = headline ? 1.0 : 0.0;
    s.correct += headline;
    ++s.total;
    s.samples_per_problem = std::max(s.samples_per_problem, judged.size());
    if (pass_sums.size() < judged.size()) pass_sums.resize(judged.size(), 0.0);
    for (std::size_t k = 1; k <= judged.size(); ++k) pass_sums[k - 1] += pass_at_k(judged.size(), correct, k);
  }
  if (in.bad()) fail(ErrorKind::Io, "reading {} failed", path.string());
  if (s.total == 0) fail(ErrorKind::Format, "{} holds no predictions", path.string());
  s.accuracy = 100.0 * static_cast<double>(s.correct) / static_cast<double>(s.total);
  s.ci95 = wilson_interval(static_cast<double>(s.correct), s.total);
  for (double sum : pass_sums) s.pass_at_k.push_back(100.0 * sum / static_cast<double>(s.total));
  return s;
}

std::string empty_replies_warning(const ReasoningSummary& s) {
  if (s.replies == 0 || 2 * s.empty_replies <= s.replies) return "";
  return fmt::format(
      "{} of {} replies are empty: the model ended its answer at once. A chat model prompted with raw text (`eval run` "
      "defaults to --api completions --template base) often does; run it with --api chat (the model's own chat "
      "template) or --template chatml.",
      s.empty_replies, s.replies);
}

void write_reasoning_summary(const ReasoningSummary& s, const std::filesystem::path& out_dir,
                             const std::vector<NamedReasoning>& others) {
  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (error) fail(ErrorKind::Io, "cannot create {}: {}", out_dir.string(), error.message());
  auto open = [&](const char* name) {
    std::ofstream out(out_dir / name, std::ios::binary | std::ios::trunc);
    if (!out) fail(ErrorKind::Io, "cannot write {}", (out_dir / name).string());
    return out;
  };
  std::vector<std::pair<std::string, PairedTest>> tests;
  for (const auto& other : others) tests.emplace_back(other.name, paired_test(s.per_problem, other.summary.per_problem));
  const std::string headline = s.samples_per_problem > 1 ? fmt::format("maj@{}", s.samples_per_problem) : "pass@1";

  nlohmann::ordered_json j;
  j["kind"] = "reasoning";
  j["title"] = s.title;
  j["metric"] = headline;
  j["accuracy"] = s.accuracy;
  j["correct"] = s.correct;
  j["total"] = s.total;
  j["ci95"] = {100 * s.ci95.low, 100 * s.ci95.high};
  j["samples_per_problem"] = s.samples_per_problem;
  auto& pass = j["pass_at_k"] = nlohmann::ordered_json::object();
  for (std::size_t k = 1; k <= s.pass_at_k.size(); ++k) pass[std::to_string(k)] = s.pass_at_k[k - 1];
  j["truncated"] = s.truncated;
  j["think_dropped"] = s.think_dropped;
  j["think_unclosed"] = s.think_unclosed;
  j["no_answer"] = s.no_answer;
  j["replies"] = s.replies;
  j["empty_replies"] = s.empty_replies;
  j["extraction_rules"] = s.rules;
  auto& paired = j["paired"] = nlohmann::ordered_json::array();
  for (const auto& [name, t] : tests)
    paired.push_back({{"against", name}, {"pairs", t.pairs}, {"only_this", t.only_first}, {"only_other", t.only_second},
                      {"p_value", t.p_value}, {"verdict", describe_paired(t, s.title, name)}});
  j["per_problem"] = s.per_problem;
  open("summary.json") << j.dump(2) << '\n';

  auto csv = open("summary.csv");
  csv << "run,metric,correct,total,accuracy,ci95_low,ci95_high,truncated,no_answer\n";
  csv << fmt::format("{},{},{},{},{:.2f},{:.2f},{:.2f},{},{}\n", s.title, headline, s.correct, s.total, s.accuracy,
                     100 * s.ci95.low, 100 * s.ci95.high, s.truncated, s.no_answer);
  for (std::size_t k = 2; k <= s.pass_at_k.size(); ++k)
    csv << fmt::format("{},pass@{},,{},{:.2f},,,,\n", s.title, k, s.total, s.pass_at_k[k - 1]);

  auto md = open("summary.md");
  md << fmt::format("# {}\n\n| metric | accuracy [95% CI] | correct / total |\n|---|---:|---:|\n", s.title);
  md << fmt::format("| {} | {} | {} / {} |\n", headline, format_percent_interval(s.accuracy, s.ci95), s.correct, s.total);
  for (std::size_t k = 1; k <= s.pass_at_k.size() && s.samples_per_problem > 1; ++k)
    md << fmt::format("| pass@{} (unbiased) | {:.1f} | |\n", k, s.pass_at_k[k - 1]);
  md << fmt::format("\nReplies cut by max_tokens: {}; reasoning dropped before extraction: {} (unclosed: {}); "
                    "no answer found: {}.\n",
                    s.truncated, s.think_dropped, s.think_unclosed, s.no_answer);
  if (const std::string warning = empty_replies_warning(s); !warning.empty()) md << "\n**Warning**: " << warning << "\n";
  if (!tests.empty()) {
    md << "\n| against | problems in common | only this right | only other right | exact McNemar p | verdict |\n"
          "|---|---:|---:|---:|---:|---|\n";
    for (const auto& [name, t] : tests)
      md << fmt::format("| {} | {} | {} | {} | {:.3g} | {} |\n", name, t.pairs, t.only_first, t.only_second, t.p_value,
                        describe_paired(t, s.title, name));
  }
}

ReasoningSummary read_reasoning_summary(const std::filesystem::path& path) { return reasoning_summary_from_json(read_json_file(path), path.string()); }

ReasoningSummary reasoning_summary_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || field_or<std::string>(j, "kind", where, "") != "reasoning")
    fail(ErrorKind::Format, "{} is not a summary of `eval score` (its \"kind\" is not \"reasoning\")", where);
  ReasoningSummary s;
  s.title = field<std::string>(j, "title", where);
  s.accuracy = field<double>(j, "accuracy", where);
  s.correct = field<std::size_t>(j, "correct", where);
  s.total = field<std::size_t>(j, "total", where);
  const auto ci95 = field<std::vector<double>>(j, "ci95", where);
  if (ci95.size() != 2) fail(ErrorKind::Format, "{}: field 'ci95' must hold two numbers", where);
  s.ci95 = {ci95[0] / 100, ci95[1] / 100};
  s.samples_per_problem = field<std::size_t>(j, "samples_per_problem", where);
  const nlohmann::json& pass = object_field(j, "pass_at_k", where);
  for (std::size_t k = 1; k <= s.samples_per_problem; ++k)
    s.pass_at_k.push_back(field<double>(pass, std::to_string(k).c_str(), where + ": pass_at_k"));
  s.truncated = field<std::size_t>(j, "truncated", where);
  s.think_dropped = field<std::size_t>(j, "think_dropped", where);
  s.think_unclosed = field<std::size_t>(j, "think_unclosed", where);
  s.no_answer = field<std::size_t>(j, "no_answer", where);
  s.replies = field_or<std::size_t>(j, "replies", where, 0);  // summaries before these two counts
  s.empty_replies = field_or<std::size_t>(j, "empty_replies", where, 0);
  for (const auto& [rule, count] : object_field(j, "extraction_rules", where).items())
    s.rules[rule] = json_as<std::size_t>(count, where + ": extraction_rules." + rule);
  for (const auto& [id, score] : object_field(j, "per_problem", where).items())
    s.per_problem[id] = json_as<double>(score, where + ": per_problem." + id);
  return s;
}

ReasoningSummary load_reasoning_run(const std::filesystem::path& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) return read_reasoning_summary(path / "summary.json");
  if (path.extension() == ".json") return read_reasoning_summary(path);
  return score_reasoning_file(path);
}

}  // namespace qk::eval
