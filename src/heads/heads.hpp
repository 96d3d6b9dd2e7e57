// qkrestore heads: which KV groups of the global layers carry the recall that SFT lost. Gathers the
// evidence (drift from the weights; through the embedded engine: attention on the needle in base and
// SFT, and recall with each group alone restored in memory) and ranks the groups (report.hpp).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "arch/profile.hpp"
#include "heads/report.hpp"

namespace qk::heads {

struct HeadsOptions {
  std::filesystem::path base, sft;
  bool engine = false;              // --engine embedded: attention probes and recall (qwen3_next)
  std::string niah_tasks;           // --niah TASKS.jsonl; empty: generated in-process
  std::string task = "niah_single_2";
  std::vector<int> lengths = {1024};
  int samples = 20;                 // per length, when generated
  std::uint64_t seed = 7;
  std::string template_name = "chatml";
  int tokens_to_generate = 32;      // reserved for the answer when sizing generated samples
  bool recall = true;               // measure the recall gain of each group (engine only)
  int recall_top = 0;               // measure it for the best N groups by the other evidence (0: all)
  bool always_recall = false;       // measure it even when SFT recalls as well as base on the samples
  bool quiet = false;
};

HeadsReport find_heads(const HeadsOptions& options, const FamilyTable& table);

// Writes heads.json, heads.md and heads.svg into dir (created).
void write_heads_outputs(const HeadsReport& report, const std::filesystem::path& dir);

}  // namespace qk::heads
