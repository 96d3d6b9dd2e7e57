// What `locate` measures: per tensor class and layer range, two candidates (docs/locate.md):
//   forward view  SFT + base's copy of the class in those layers: how much recall it wins back (and how
//                 much reasoning it costs);
//   reverse view  base + SFT's copy: how much recall SFT's change of that class alone breaks.
// The layers are grouped into ranges (the user's, or one per quarter of the depth); a range whose effect
// is significant is then refined: split in two halves, each measured, down to single layers.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qk::locate {

struct LayerRange {
  int first = 0, last = 0;  // inclusive
  int size() const { return last - first + 1; }
  std::string text() const;  // "0-2", or "5" for one layer
  bool operator==(const LayerRange&) const = default;
  auto operator<=>(const LayerRange&) const = default;
};

// One range per quarter of the depth, as even as the count allows (12 layers: 0-2, 3-5, 6-8, 9-11;
// fewer than 4 layers: one range a layer).
std::vector<LayerRange> quarter_ranges(int layers);
// "0-3,4-7,8-11" or "0,1,2-11": ascending, disjoint, inside [0, layers). Error(Usage) naming the token.
std::vector<LayerRange> parse_ranges(std::string_view text, int layers);
// The two halves a refinement measures (the first one the larger when the size is odd): 0-2 -> 0-1, 2.
std::pair<LayerRange, LayerRange> halves(const LayerRange& range);

enum class View { Forward, Reverse };
const char* view_name(View view);  // "forward", "reverse"

// A class, and its layers when it has some (embeddings and lm_head have none).
struct Site {
  std::string tensor_class;
  std::optional<LayerRange> layers;
  std::string unit() const;  // as --take spells it: "mlp@0-2", "embed"
  bool operator==(const Site&) const = default;
};

}  // namespace qk::locate
