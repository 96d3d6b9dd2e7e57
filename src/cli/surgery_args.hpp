// Options shared by the commands that read a base/SFT pair (plan, restore, blend, procrustes,
// verify, diagnose), bound once here so every command spells them the same way.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "arch/profile.hpp"
#include "io/checkpoint.hpp"
#include "surgery/output.hpp"
#include "surgery/plan.hpp"
#include "surgery/repair_spec.hpp"

namespace qk::cli {

// --base, --sft, --arch-file, and (with a method) the repair options that method's command takes,
// bound from the repair codec's table (surgery/repair_spec.hpp): the CLI spells no repair option itself.
struct PairArgs {
  std::string base, sft, arch_file;

  // `method`: bind its repair options (`plan` binds restore's: the selection alone); none for
  // commands that read a pair without a repair (verify, diagnose, heads, sweep).
  void bind(CLI::App& app, std::optional<MethodKind> method = std::nullopt);
  // The repair the user asked for, parsed by the codec (errors before any file is read).
  RepairSpec repair_spec() const;
  bool given(const std::string& flag) const;  // was this repair option on the command line?
  FamilyTable family_table() const;  // built-in, plus --arch-file

 private:
  std::optional<MethodKind> method_;
  std::map<std::string, std::string> values_;  // flag -> value as typed
  std::map<std::string, bool> switches_;
  std::vector<std::pair<std::string, CLI::Option*>> bound_;  // in the table's order
};

struct OutputArgs {
  std::string out, max_shard_size;
  bool force = false, quiet = false, fsync = false;

  void bind(CLI::App& app);
  OutputOptions output_options(const Selection& selection, const std::string& command_line) const;
};

// BASE and SFT opened, validated against each other and planned: how every surgery command starts.
struct OpenedPair {
  explicit OpenedPair(const PairArgs& args)
      : spec(args.repair_spec()), table(args.family_table()), base(args.base), sft(args.sft),
        plan(make_plan(base, sft, spec.selection, table)) {
    spec.check_against(plan);
  }
  RepairSpec spec;
  FamilyTable table;
  Checkpoint base, sft;
  SurgeryPlan plan;
};

std::string command_line();  // argv as the user typed it, for provenance
// --lengths "4096,4K,1M": positive token counts (K = 1024, M = 1024 * 1024); Error(Usage) naming the item.
std::vector<int> parse_lengths(const std::string& text);
void remember_command_line(int argc, char** argv);

}  // namespace qk::cli
