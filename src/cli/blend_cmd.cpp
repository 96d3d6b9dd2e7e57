// qkrestore blend: W = alpha * base + (1 - alpha) * SFT on the rows restore would take from base.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/surgery_args.hpp"
#include "surgery/method.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace qk::cli {
namespace {

struct BlendArgs {
  PairArgs pair;
  OutputArgs output;
};

}  // namespace

Action setup_blend(CLI::App& sub) {
  auto args = std::make_shared<BlendArgs>();
  args->pair.bind(sub, MethodKind::Blend);
  args->output.bind(sub);
  sub.callback([args]() {
    if (!args->pair.given("--alpha") && !args->pair.given("--alpha-file") && !args->pair.given("--layer-alphas"))
      throw CLI::RequiredError("--alpha, --alpha-file or --layer-alphas");
  });
  return [args]() {
    install_interrupt_handlers();
    const OpenedPair opened(args->pair);
    const auto& [spec, table, base, sft, plan] = opened;
    const auto method = spec.make_method();
    auto summary = write_output(base, sft, plan, *method, args->output.output_options(spec.selection, command_line()));
    for (const auto& note : plan.notes) fmt::print(stderr, "note: {}\n", note);
    if (!args->output.quiet)
      fmt::print(stderr, "blended {} tensors in {} layers (alpha {}{}); wrote {} in {:.2f} s to {}\n", summary.restored.size(),
                 plan.selected_layers.size(), spec.method.alpha, spec.method.layer_alphas.empty() ? "" : ", per-layer overrides",
                 human_bytes(summary.bytes_written), summary.seconds, args->output.out);
    return kExitOk;
  };
}

}  // namespace qk::cli
