// --heads SPEC: surgery below the layer. A KV group is the key rows of one KV head plus the query
// rows of every query head that reads it (GQA: query head h reads KV head h / (heads / kv_heads),
// as transformers' repeat_kv does); `L:qH` is one query head's query rows alone.
//   3:0       KV group 0 of layer 3        3:0-1   groups 0 and 1      7:*   every group of layer 7
//   3:q5      query head 5 of layer 3      lists joined by commas: 3:0,7:q2
#pragma once
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace qk {

// What the user wrote for one layer, before the layer's head counts are known.
struct LayerHeadRequest {
  bool all_groups = false;
  std::set<int> kv_groups;
  std::set<int> query_heads;
  bool operator==(const LayerHeadRequest&) const = default;
};

struct HeadSpec {
  std::map<int, LayerHeadRequest> layers;
  // Parses SPEC; throws Error(Usage) naming the bad token and the grammar.
  static HeadSpec parse(const std::string& text);
  std::set<int> layer_set() const;
  std::string to_string() const;  // canonical form, parses back to the same spec
  bool operator==(const HeadSpec&) const = default;
};

// One layer's heads as written after "LAYER:" (G, G-G, * or qH) added to `request`; returns why the
// text is not one of those, or "" when it is. The grammar --heads and --take share.
std::string parse_layer_heads(std::string_view text, LayerHeadRequest& request);
// The text parse_layer_heads reads back, for a request it made ("*", "3", "0-1", "q5").
std::string layer_heads_text(const LayerHeadRequest& request);

// The rows one layer takes from base, resolved against its head counts.
struct LayerHeads {
  std::vector<int> kv_groups;    // whole KV groups (key head + its query heads)
  std::vector<int> query_heads;  // every query head whose query rows are taken (those of the groups included)
  std::vector<int> key_heads;    // = kv_groups
  bool whole_groups_only = true; // false when some `L:qH` names a query head without its group
};

// Throws Error(Usage) naming the layer's counts when a group or head is out of range.
LayerHeads resolve_layer_heads(int layer, const LayerHeadRequest& request, long heads, long kv_heads);

// The query heads that read KV head g.
std::vector<int> query_heads_of_group(int group, long heads, long kv_heads);

}  // namespace qk
