// qkrestore restore: W_Q/W_K of the global attention layers from BASE, everything else from SFT.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/surgery_args.hpp"
#include "surgery/method.hpp"
#include "util/progress.hpp"

namespace qk::cli {
namespace {

struct RestoreArgs {
  PairArgs pair;
  OutputArgs output;
};

}  // namespace

Action setup_restore(CLI::App& sub) {
  auto args = std::make_shared<RestoreArgs>();
  args->pair.bind(sub);
  args->output.bind(sub);
  return [args]() {
    install_interrupt_handlers();
    const OpenedPair opened(args->pair);
    const auto& [table, base, sft, surgery, plan] = opened;
    RestoreMethod method;
    auto summary = write_output(base, sft, plan, method, args->output.output_options(surgery, command_line()));
    for (const auto& note : plan.notes) fmt::print(stderr, "note: {}\n", note);
    if (!args->output.quiet)
      fmt::print(stderr, "restored {} tensors in {} global layers; wrote {} in {:.2f} s to {}\n", summary.restored.size(),
                 plan.selected_layers.size(), human_bytes(summary.bytes_written), summary.seconds, args->output.out);
    return kExitOk;
  };
}

}  // namespace qk::cli
