// `qkrestore heads`: the KV groups of the global layers, ranked by the evidence that they carry the
// recall SFT lost (docs/heads.md), and the three outputs: heads.json, heads.md, heads.svg.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/statistics.hpp"

namespace qk::heads {

struct HeadEvidence {
  int head = -1;
  double drift = 0;  // diagnose's form_drift: how far SFT moved this head's query-key bilinear form
  std::optional<Estimate> mass_base, mass_sft, retrieval_base, retrieval_sft;
};

struct GroupEvidence {
  int layer = -1, kv_group = -1;
  std::vector<HeadEvidence> heads;  // its query heads, best first after rank()
  double drift = 0;                 // mean of the query heads' drift
  std::optional<Estimate> retrieval_base, retrieval_sft;  // of its best query head (by base retrieval)
  std::optional<Estimate> mass_base, mass_sft;            // of that same head
  std::optional<Estimate> recall, recall_gain;            // SFT with this group alone restored; gain over SFT (points)
  double score = 0;                 // the evidence that decided its rank (decided_by)
  std::string decided_by;           // "recall_gain" | "retrieval_base" | "drift"
};

struct HeadsReport {
  std::string base, sft, model_type;
  std::vector<int> global_layers;
  long heads = 0, kv_heads = 0;
  std::vector<GroupEvidence> groups;  // best first after rank()
  // Reference points of the recall measurement (engine only).
  std::optional<Estimate> recall_base, recall_sft, recall_full_restore;
  std::string niah_description;       // what the probes and recall ran on
  std::size_t samples = 0;
  std::vector<std::string> notes;
  double seconds = 0;
};

// Orders groups: measured recall gain first, then the base retrieval score of the group's best head,
// then drift (the only evidence where the engine cannot run); query heads within a group by base
// retrieval, then drift. Sets score and decided_by.
void rank(HeadsReport& report);

nlohmann::ordered_json to_json(const HeadsReport& report);  // the list, best first
std::string to_markdown(const HeadsReport& report);
std::string to_svg(const HeadsReport& report);      // layers x KV groups, coloured by rank

}  // namespace qk::heads
