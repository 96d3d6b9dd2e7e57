// The eight RULER NIAH tasks as data (RULER scripts/synthetic.yaml): which haystack, which key and value
// types, and how many keys, values per key and queried keys each sample has.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "niah/needle_values.hpp"

namespace qk::niah {

enum class HaystackKind {
  Noise,   // RULER "noise": the same five short sentences, one block a line
  Essay,   // RULER "essay": prose words joined by spaces, needles placed between sentences
  Needle,  // RULER "needle": every line a decoy needle with random key and value
};

HaystackKind parse_haystack_kind(std::string_view name);
std::string_view haystack_kind_name(HaystackKind kind);

struct TaskSpec {
  std::string name;
  HaystackKind haystack;
  ValueKind key_kind;
  ValueKind value_kind;
  int num_keys;        // needles with distinct keys (RULER num_needle_k, raised to num_queries)
  int values_per_key;  // RULER num_needle_v
  int num_queries;     // RULER num_needle_q: keys asked about
};

const std::vector<TaskSpec>& ruler_niah_tasks();
const TaskSpec& find_task(std::string_view name);  // throws Usage naming the known tasks
std::vector<TaskSpec> parse_task_list(std::string_view comma_separated);  // "all" means all eight

}  // namespace qk::niah
