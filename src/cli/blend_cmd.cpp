// qkrestore blend: W = alpha * base + (1 - alpha) * SFT on the rows restore would take from base.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/surgery_args.hpp"
#include "surgery/blend_method.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace qk::cli {
namespace {

struct BlendArgs {
  PairArgs pair;
  OutputArgs output;
  double alpha = 0.5;
  std::string alpha_file;
};

}  // namespace

Action setup_blend(CLI::App& sub) {
  auto args = std::make_shared<BlendArgs>();
  args->pair.bind(sub);
  args->output.bind(sub);
  auto* alpha = sub.add_option("--alpha", args->alpha, "weight of base: 1 = restore, 0 = SFT");
  sub.add_option("--alpha-file", args->alpha_file, "per-layer alphas: JSON {\"alpha\": A, \"layers\": {\"3\": 1.0, ...}}")
      ->check(CLI::ExistingFile);
  sub.callback([alpha, args]() {
    if (alpha->count() == 0 && args->alpha_file.empty()) throw CLI::RequiredError("--alpha or --alpha-file");
  });
  return [args]() {
    install_interrupt_handlers();
    const OpenedPair opened(args->pair);
    const auto& [table, base, sft, surgery, plan] = opened;
    const BlendMethod method = args->alpha_file.empty() ? BlendMethod(args->alpha) : read_blend_file(args->alpha_file, args->alpha);
    for (const auto& [layer, alpha] : method.layer_alphas()) {
      if (std::find(plan.selected_layers.begin(), plan.selected_layers.end(), layer) == plan.selected_layers.end())
        fail(ErrorKind::Usage, "{} gives an alpha for layer {}, which the plan does not change (selected layers: {})", args->alpha_file,
             layer, fmt::join(plan.selected_layers, ","));
    }
    auto summary = write_output(base, sft, plan, method, args->output.output_options(surgery, command_line()));
    for (const auto& note : plan.notes) fmt::print(stderr, "note: {}\n", note);
    if (!args->output.quiet)
      fmt::print(stderr, "blended {} tensors in {} layers (alpha {}{}); wrote {} in {:.2f} s to {}\n", summary.restored.size(),
                 plan.selected_layers.size(), method.options()["alpha"].get<double>(), method.layer_alphas().empty() ? "" : ", per-layer overrides",
                 human_bytes(summary.bytes_written), summary.seconds, args->output.out);
    return kExitOk;
  };
}

}  // namespace qk::cli
