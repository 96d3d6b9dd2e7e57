// qkrestore plan | restore | verify: which tensors and rows would come from BASE; the surgery (W_Q/W_K of
// the global attention layers from BASE, everything else from SFT); every output tensor checked against
// its expected source, byte for byte.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/surgery_args.hpp"
#include "surgery/method.hpp"
#include "surgery/verify.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace qk::cli {
namespace {

struct PlanArgs {
  PairArgs pair;
  bool json = false;
};

struct RestoreArgs {
  PairArgs pair;
  OutputArgs output;
};

struct VerifyArgs {
  PairArgs pair;
  std::string out;
  bool quiet = false;
};

}  // namespace

Action setup_plan(CLI::App& sub) {
  auto args = std::make_shared<PlanArgs>();
  args->pair.bind(sub, MethodKind::Restore);  // restore's options are the selection alone
  sub.add_flag("--json", args->json, "print the plan as JSON");
  return [args]() {
    const RepairSpec spec = args->pair.repair_spec();
    const Checkpoint base(args->pair.base), sft(args->pair.sft);
    const SurgeryPlan plan = make_plan(base, sft, spec.selection, args->pair.family_table());
    if (args->json) fmt::print("{}\n", plan.to_json().dump(2));
    else fmt::print("{}", plan.to_text());
    return kExitOk;
  };
}

Action setup_restore(CLI::App& sub) {
  auto args = std::make_shared<RestoreArgs>();
  args->pair.bind(sub, MethodKind::Restore);
  args->output.bind(sub);
  return [args]() {
    install_interrupt_handlers();
    const OpenedPair opened(args->pair);
    const auto& [spec, table, base, sft, plan] = opened;
    auto summary = write_output(base, sft, plan, *spec.make_method(), args->output.output_options(spec.selection, command_line()));
    for (const auto& note : plan.notes) fmt::print(stderr, "note: {}\n", note);
    if (!args->output.quiet)
      fmt::print(stderr, "restored {} tensors in {} global layers; wrote {} in {:.2f} s to {}\n", summary.restored.size(),
                 plan.selected_layers.size(), human_bytes(summary.bytes_written), summary.seconds, args->output.out);
    return kExitOk;
  };
}

Action setup_verify(CLI::App& sub) {
  auto args = std::make_shared<VerifyArgs>();
  args->pair.bind(sub);
  sub.add_option("--out", args->out, "the output directory to check")->required()->check(CLI::ExistingDirectory);
  sub.add_flag("--quiet,-q", args->quiet, "no progress on stderr");
  return [args]() {
    install_interrupt_handlers();
    const Checkpoint base(args->pair.base), sft(args->pair.sft);
    auto report = verify_output(base, sft, args->out, args->pair.family_table(), args->quiet);
    for (const auto& p : report.problems) fmt::print(stderr, "MISMATCH: {}\n", p);
    if (!report.problems.empty())
      throw Error(ErrorKind::Verify, fmt::format("{}: {} problem(s) found", args->out, report.problems.size()));
    fmt::print("OK: {} tensors ({} computed by the method) and {} other files match; {} compared\n", report.tensors_checked,
               report.method_tensors_checked, report.files_checked, human_bytes(report.bytes_compared));
    return kExitOk;
  };
}

}  // namespace qk::cli
