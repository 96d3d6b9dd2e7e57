// qkrestore plan: per layer, its type and which tensors and rows would come from BASE.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/surgery_args.hpp"

namespace qk::cli {
namespace {

struct PlanArgs {
  PairArgs pair;
  bool json = false;
};

}  // namespace

Action setup_plan(CLI::App& sub) {
  auto args = std::make_shared<PlanArgs>();
  args->pair.bind(sub);
  sub.add_flag("--json", args->json, "print the plan as JSON");
  return [args]() {
    const Checkpoint base(args->pair.base), sft(args->pair.sft);
    const SurgeryPlan plan = make_plan(base, sft, args->pair.surgery_options(), args->pair.family_table());
    if (args->json) fmt::print("{}\n", plan.to_json().dump(2));
    else fmt::print("{}", plan.to_text());
    return kExitOk;
  };
}

}  // namespace qk::cli
