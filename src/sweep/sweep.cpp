#include "sweep/sweep.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "util/error.hpp"

namespace qk::sweep {
namespace {

Scored scored(const CandidateResult& r) {
  return {r.candidate.name, r.candidate.kind == CandidateKind::Sft || r.candidate.kind == CandidateKind::Base, &r.recall,
          &r.reasoning};
}

// The search's measurements: start + moves as a candidate named search-N, measured on the choosing set.
class SweepSearchMeasure final : public SearchMeasure {
 public:
  SweepSearchMeasure(const SearchPlan& plan, const CandidateResult& start, Measurer& measurer, const MeasureSet& set,
                     std::vector<const CandidateResult*>& chosen)
      : plan_(plan), start_(start), measurer_(measurer), set_(set), chosen_(chosen) {}

  Scored measure(const std::vector<Move>& moves) override {
    if (moves.empty()) {  // the start: measured with the listed candidates
      names.push_back(start_.candidate.name);
      return scored(start_);
    }
    const std::string name = fmt::format("search-{}", names.size());
    const CandidateResult& r = measurer_.measure(plan_.compose(start_.candidate, moves, name), set_);
    chosen_.push_back(&r);
    names.push_back(name);
    return scored(r);
  }
  std::vector<std::string> names;  // per trial, in the search's order

 private:
  const SearchPlan& plan_;
  const CandidateResult& start_;
  Measurer& measurer_;
  const MeasureSet& set_;
  std::vector<const CandidateResult*>& chosen_;
};

// Indices of the results no other result matches or beats on both axes (point estimates).
std::vector<std::size_t> frontier_of(const std::vector<const CandidateResult*>& results) {
  std::vector<std::size_t> front;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const double x = results[i]->reasoning.accuracy, y = results[i]->recall.overall.score();
    bool dominated = false;
    for (std::size_t j = 0; j < results.size() && !dominated; ++j) {
      const double qx = results[j]->reasoning.accuracy, qy = results[j]->recall.overall.score();
      dominated = j != i && qx >= x && qy >= y && (qx > x || qy > y);
    }
    if (!dominated) front.push_back(i);
  }
  return front;
}

}  // namespace

SweepResult run_sweep(const SweepOptions& options, const std::vector<Candidate>& candidates, CandidateBackends& backends) {
  SweepResult result;
  result.out_of_sample = options.out_of_sample();
  const MeasureSet test{"test", options.niah_tasks, options.reasoning_tasks, options.out / "candidates"};
  const MeasureSet selection{"selection", options.niah_select.empty() ? options.niah_tasks : options.niah_select,
                             options.reasoning_select.empty() ? options.reasoning_tasks : options.reasoning_select,
                             options.out / "selection"};
  const MeasureSet& choose_on = result.out_of_sample ? selection : test;
  Measurer measurer(options.ask, backends);

  std::vector<const CandidateResult*> chosen;
  for (const auto& candidate : candidates) chosen.push_back(&measurer.measure(candidate, choose_on));
  auto find = [&](auto&& predicate) -> const CandidateResult* {
    for (const auto* r : chosen)
      if (predicate(*r)) return r;
    return nullptr;
  };
  const CandidateResult* sft = find([](const CandidateResult& r) { return r.candidate.kind == CandidateKind::Sft; });
  const CandidateResult* base = find([](const CandidateResult& r) { return r.candidate.kind == CandidateKind::Base; });
  if (!sft) fail(ErrorKind::Usage, "sweep needs the SFT model among its candidates");
  const Scored sft_scored = scored(*sft);
  const Scored base_scored = base ? scored(*base) : Scored{};
  const RuleJudge judge(sft_scored, base ? &base_scored : nullptr, options.rule);

  std::string start_name;
  if (options.search) {
    const SearchPlan& plan = *options.search;
    start_name = plan.start;
    const CandidateResult* start = find([&](const CandidateResult& r) { return r.candidate.name == plan.start; });
    if (!start) fail(ErrorKind::Usage, "sweep: the search starts from '{}', which is not among the candidates", plan.start);
    SearchOptions search = plan.options;
    // The listed candidates spent part of the budget; the search's start is among them.
    search.budget = plan.options.budget > candidates.size() ? plan.options.budget - candidates.size() + 1 : 1;
    SweepSearchMeasure measure(plan, *start, measurer, choose_on, chosen);
    SearchResult path = greedy_search(search, judge, measure);
    for (std::size_t i = 0; i < path.path.size(); ++i) result.search.push_back({path.path[i], measure.names[i]});
    result.search_stopped = path.stopped;
  }

  std::vector<Scored> all;
  for (const auto* r : chosen) all.push_back(scored(*r));
  const Recommendation pick = recommend(all, sft_scored, base ? &base_scored : nullptr, options.rule);
  result.rule = pick.rule;
  result.reason = pick.reason;
  if (result.out_of_sample) {
    result.reason += " on the selection sets";
    for (const auto* r : chosen) result.selection.push_back(*r);
  }

  // What the report shows: in sample everything; out of sample the reference points (SFT, base, the
  // paper's restore, the one-group repair, the search's start), the pick and the selection frontier
  // (every candidate with --test-all), measured again on the test sets.
  std::set<std::size_t> shown;
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const Candidate& c = chosen[i]->candidate;
    const bool reference = c.kind != CandidateKind::Surgery || c.name == "restore" || c.name == "top-1" || c.name == start_name;
    if (!result.out_of_sample || options.test_all || reference || pick.index == i)
      shown.insert(i);
  }
  if (result.out_of_sample)
    for (std::size_t i : frontier_of(chosen)) shown.insert(i);
  for (std::size_t i : shown) {
    const CandidateResult& r = result.out_of_sample ? measurer.measure(chosen[i]->candidate, test) : *chosen[i];
    if (pick.index == i) result.recommended = result.results.size();
    if (!start_name.empty() && r.candidate.name == start_name) result.search_start = result.results.size();
    result.results.push_back(r);
  }
  if (const std::string saved = backends.savings(); !options.ask.quiet && !saved.empty()) fmt::print(stderr, "sweep: {}\n", saved);
  return result;
}

}  // namespace qk::sweep
