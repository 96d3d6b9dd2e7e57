// Options shared by the commands that read a base/SFT pair (plan, restore, blend, procrustes,
// verify, diagnose), bound once here so every command spells them the same way.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "arch/profile.hpp"
#include "io/checkpoint.hpp"
#include "surgery/output.hpp"
#include "surgery/plan.hpp"

namespace qk::cli {

struct PairArgs {
  std::string base, sft, arch_file;
  std::string layers, tensors, heads;
  bool include_sliding = false, include_gate = false, with_qk_norm = false;

  void bind(CLI::App& app, bool selection_options = true);
  SurgeryOptions surgery_options() const;
  FamilyTable family_table() const;  // built-in, plus --arch-file
};

struct OutputArgs {
  std::string out, max_shard_size;
  bool force = false, quiet = false, fsync = false;

  void bind(CLI::App& app);
  OutputOptions output_options(const SurgeryOptions& surgery, const std::string& command_line) const;
};

// BASE and SFT opened, validated against each other and planned: how every surgery command starts.
struct OpenedPair {
  explicit OpenedPair(const PairArgs& args)
      : table(args.family_table()), base(args.base), sft(args.sft), options(args.surgery_options()),
        plan(make_plan(base, sft, options, table)) {}
  FamilyTable table;
  Checkpoint base, sft;
  SurgeryOptions options;
  SurgeryPlan plan;
};

std::string command_line();  // argv as the user typed it, for provenance
// --lengths "4096,4K,1M": positive token counts (K = 1024, M = 1024 * 1024); Error(Usage) naming the item.
std::vector<int> parse_lengths(const std::string& text);
void remember_command_line(int argc, char** argv);

}  // namespace qk::cli
