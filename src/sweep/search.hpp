// `sweep`'s search: from a start repair (the head repair `heads` ranks first), greedy forward selection
// over class x layer units (`mlp@0-2`, as --take spells them) and blend weights, measured on recall and
// reasoning, within a budget of measured candidates. Each step:
//   1. screen: every unit still in the pool is added to the current repair at the middle weight and
//      measured (a unit whose effect is nil there is dropped from the pool: it will not help later);
//   2. settle: the units that gained recall over the current repair, best first, get their weight
//      settled on the grid: if the screened point meets the rule (recommend.hpp), higher weights are
//      tried while they still meet it (more of base: more recall, less reasoning); if it does not,
//      lower weights until one does. The first unit whose settled point the rule ranks above the
//      current repair is accepted;
//   3. stop when no unit is accepted, the pool is empty, or the budget is spent.
// The budget counts every measurement the search asks for (the start included); a repair measured
// twice (the same units and weights) is measured once. Every measurement is kept in the path, with why
// it was made and what came of it, for the report.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "sweep/recommend.hpp"

namespace qk::sweep {

// A unit added to the start repair at a weight: `mlp@0-2` at 0.25 is `--take mlp@0-2:0.25`.
struct Move {
  std::string unit;
  double weight = 1;
  bool operator==(const Move&) const = default;
};
std::string moves_text(const std::vector<Move>& moves);  // "mlp@0-2:0.25,linear@9-11:1"; "" for none

struct SearchOptions {
  std::vector<std::string> pool;                   // units in the order to try them (locate's ranking first)
  std::vector<double> weights = {0.25, 0.5, 1.0};  // the blend grid, ascending, in (0, 1]
  std::size_t budget = 20;                         // measurements, the start's included
};

enum class TrialRole { Start, Screen, Settle };

struct Trial {
  std::vector<Move> moves;  // on top of the start
  TrialRole role = TrialRole::Start;
  std::size_t step = 0;     // 0: the start; then the greedy step that measured it
  bool meets_rule = false;
  bool accepted = false;    // became the current repair
  std::string note;         // what the search concluded from it
};

struct SearchResult {
  std::vector<Trial> path;   // every measurement, in order
  std::vector<Move> best;    // the last accepted repair's moves (empty: the start)
  std::string stopped;       // why the search ended
};

// What the search needs from the sweep: the scores of start + moves (the sweep measures and keeps them;
// the returned pointers stay valid until the search returns).
class SearchMeasure {
 public:
  virtual ~SearchMeasure() = default;
  virtual Scored measure(const std::vector<Move>& moves) = 0;
};

SearchResult greedy_search(const SearchOptions& options, const RuleJudge& judge, SearchMeasure& measure);

// The weight the screen uses: the middle of the grid (the lower middle for an even count).
double screening_weight(const std::vector<double>& weights);

// Two units touch the same tensors: one class holds the other ("attn" holds "attn.qk") and their layers
// meet (a class outside the layer stack meets every unit of its class). The search never adds a unit that
// meets one already in the repair.
bool units_overlap(const std::string& a, const std::string& b);
// The first layer a unit ("mlp@3-5") changes; nullopt outside the layer stack ("embed").
std::optional<int> unit_first_layer(const std::string& unit);

}  // namespace qk::sweep
