#include "sweep/search.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "util/error.hpp"

namespace qk::sweep {
namespace {

// "mlp@0-2" -> class "mlp", layers 0..2; "embed" -> no layers. Heads (":3") do not matter for overlap.
struct UnitExtent {
  std::string tensor_class;
  int first = -1, last = -1;
};

UnitExtent extent_of(const std::string& unit) {
  UnitExtent e;
  const std::size_t at = unit.find('@');
  e.tensor_class = unit.substr(0, at);
  if (at == std::string::npos) return e;
  const std::string layers = unit.substr(at + 1, unit.find(':', at) - at - 1);
  const std::size_t dash = layers.find('-');
  try {
    e.first = std::stoi(layers.substr(0, dash));
    e.last = dash == std::string::npos ? e.first : std::stoi(layers.substr(dash + 1));
  } catch (const std::exception&) {
    fail(ErrorKind::Usage, "search unit '{}': expected CLASS@FIRST[-LAST] (e.g. mlp@0-2)", unit);
  }
  return e;
}

}  // namespace

bool units_overlap(const std::string& a, const std::string& b) {
  const UnitExtent x = extent_of(a), y = extent_of(b);
  auto within = [](const std::string& inner, const std::string& outer) {
    return inner == outer || inner.rfind(outer + ".", 0) == 0;
  };
  if (!within(x.tensor_class, y.tensor_class) && !within(y.tensor_class, x.tensor_class)) return false;
  if (x.first < 0 || y.first < 0) return true;
  return x.first <= y.last && y.first <= x.last;
}

std::optional<int> unit_first_layer(const std::string& unit) {
  const UnitExtent e = extent_of(unit);
  return e.first < 0 ? std::nullopt : std::optional<int>(e.first);
}

namespace {

std::string weight_text(double w) { return fmt::format("{:g}", w); }

class Search {
 public:
  Search(const SearchOptions& o, const RuleJudge& judge, SearchMeasure& measure) : o_(o), judge_(judge), measure_(measure) {}

  SearchResult run() {
    const auto start = trial({}, TrialRole::Start, 0);
    if (!start) fail(ErrorKind::Usage, "search: a budget of 0 candidates measures nothing");
    mark(*start, "the start");
    current_ = *start;
    std::vector<std::string> pool = o_.pool;
    const double screen_weight = screening_weight(o_.weights);
    for (std::size_t step = 1;; ++step) {
      if (pool.empty()) return finish("the pool of units is empty");
      // 1. screen
      struct Screened {
        std::string unit;
        std::size_t trial;
      };
      std::vector<Screened> screened;
      for (const auto& unit : pool) {
        const auto t = trial(with(unit, screen_weight), TrialRole::Screen, step);
        if (!t) break;
        screened.push_back({unit, *t});
      }
      if (screened.empty()) return finish("the budget is spent");
      std::stable_sort(screened.begin(), screened.end(), [&](const Screened& a, const Screened& b) {
        return RuleJudge::ranks_above(scores_[a.trial], scores_[b.trial]);
      });
      // 2. settle the weight of each unit that gained recall, best first; accept the first that beats the current repair
      const Scored before = scores_[current_];
      std::vector<std::string> next_pool;
      std::optional<std::size_t> accepted;
      std::string accepted_unit;
      for (const auto& s : screened) {
        if (!gains_recall(scores_[s.trial], before)) {
          mark(s.trial, fmt::format("no recall gain at weight {}: dropped from the pool", weight_text(screen_weight)));
          continue;
        }
        if (accepted) {
          next_pool.push_back(s.unit);
          mark(s.trial, "gains recall: kept in the pool");
          continue;
        }
        const std::optional<std::size_t> settled = settle(s.unit, s.trial, step);
        if (settled && beats_current(*settled)) {
          accepted = settled;
          accepted_unit = s.unit;
        } else {
          next_pool.push_back(s.unit);
          if (!settled) mark(s.trial, "no weight of the grid meets the rule: kept in the pool");
        }
      }
      // Units the budget left unscreened stay in the pool.
      for (std::size_t i = screened.size(); i < pool.size(); ++i) next_pool.push_back(pool[i]);
      if (!accepted) return finish(used_ == o_.budget ? "the budget is spent" : "no unit improves on the current repair under the rule");
      path_[*accepted].accepted = true;
      mark(*accepted, fmt::format("accepted at step {}", step));
      current_ = *accepted;
      std::erase_if(next_pool, [&](const std::string& u) { return units_overlap(u, accepted_unit); });
      pool = std::move(next_pool);
    }
  }

 private:
  // Measures start + moves once (later asks get the first measurement, free); nullopt: the budget is spent.
  std::optional<std::size_t> trial(const std::vector<Move>& moves, TrialRole role, std::size_t step) {
    const std::string key = moves_text(moves);
    if (auto it = seen_.find(key); it != seen_.end()) return it->second;
    if (used_ == o_.budget) return std::nullopt;
    ++used_;
    scores_.push_back(measure_.measure(moves));
    Trial t;
    t.moves = moves;
    t.role = role;
    t.step = step;
    t.meets_rule = judge_.eligible(scores_.back());
    path_.push_back(std::move(t));
    seen_[key] = path_.size() - 1;
    return path_.size() - 1;
  }

  std::vector<Move> with(const std::string& unit, double weight) const {
    std::vector<Move> moves = path_[current_].moves;
    moves.push_back({unit, weight});
    return moves;
  }

  // The weight of the grid at which current + unit is best under the rule, starting from its screen.
  std::optional<std::size_t> settle(const std::string& unit, std::size_t screen, std::size_t step) {
    const double w0 = path_[screen].moves.back().weight;
    std::optional<std::size_t> best;
    if (path_[screen].meets_rule) {
      best = screen;
      for (double w : o_.weights) {  // more of base while the rule still holds
        if (w <= w0) continue;
        const auto t = trial(with(unit, w), TrialRole::Settle, step);
        if (!t) break;
        if (!path_[*t].meets_rule || !RuleJudge::ranks_above(scores_[*t], scores_[*best])) {
          mark(*t, path_[*t].meets_rule ? "no better than the lower weight" : "fails the rule: the weight stays lower");
          break;
        }
        mark(*best, "a higher weight does better");
        best = t;
      }
    } else {
      mark(screen, "fails the rule: trying lower weights");
      for (auto w = o_.weights.rbegin(); w != o_.weights.rend(); ++w) {  // less of base until the rule holds
        if (*w >= w0) continue;
        const auto t = trial(with(unit, *w), TrialRole::Settle, step);
        if (!t) break;
        if (path_[*t].meets_rule) {
          best = t;
          break;
        }
        mark(*t, "fails the rule");
      }
    }
    if (best && !beats_current(*best)) mark(*best, "meets the rule but does not beat the current repair");
    return best;
  }

  bool gains_recall(const Scored& s, const Scored& reference) const {
    return s.recall->overall.score() > reference.recall->overall.score();
  }
  bool beats_current(std::size_t t) const {
    if (!path_[t].meets_rule) return false;
    return !path_[current_].meets_rule || RuleJudge::ranks_above(scores_[t], scores_[current_]);
  }
  void mark(std::size_t t, std::string note) { path_[t].note = std::move(note); }

  SearchResult finish(std::string why) {
    SearchResult r;
    r.best = path_[current_].moves;
    r.path = std::move(path_);
    r.stopped = std::move(why);
    return r;
  }

  const SearchOptions& o_;
  const RuleJudge& judge_;
  SearchMeasure& measure_;
  std::vector<Trial> path_;
  std::vector<Scored> scores_;  // per trial
  std::map<std::string, std::size_t> seen_;
  std::size_t used_ = 0, current_ = 0;
};

}  // namespace

std::string moves_text(const std::vector<Move>& moves) {
  std::string text;
  for (const auto& m : moves) text += (text.empty() ? "" : ",") + m.unit + ":" + weight_text(m.weight);
  return text;
}

double screening_weight(const std::vector<double>& weights) {
  if (weights.empty()) fail(ErrorKind::Usage, "search: no blend weights to try");
  return weights[(weights.size() - 1) / 2];
}

SearchResult greedy_search(const SearchOptions& options, const RuleJudge& judge, SearchMeasure& measure) {
  if (options.weights.empty()) fail(ErrorKind::Usage, "search: no blend weights to try");
  for (std::size_t i = 0; i < options.weights.size(); ++i)
    if (!(options.weights[i] > 0 && options.weights[i] <= 1) || (i && options.weights[i] <= options.weights[i - 1]))
      fail(ErrorKind::Usage, "search weights must be ascending, in (0, 1]: got {}", fmt::format("{}", options.weights[i]));
  return Search(options, judge, measure).run();
}

}  // namespace qk::sweep
