// qkrestore procrustes / ridge: the two readings of QK-Pro (docs/qkpro.md). procrustes turns base
// W_Q/W_K by the RoPE-commuting rotation closest to SFT (base routing kept exactly); ridge keeps
// base W_K and pulls SFT's W_Q toward base's by ridge least squares.
#include <cmath>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/surgery_args.hpp"
#include "surgery/procrustes_method.hpp"
#include "surgery/procrustes_norms.hpp"
#include "surgery/tensor_rows.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace qk::cli {
namespace {

// Checks every layer's Q/K geometry from the headers, before any tensor byte is read.
void check_plan(const Checkpoint& base, const Checkpoint& sft, const SurgeryPlan& plan, const FamilyTable& table, const char* method,
                bool needs_rope) {
  if (needs_rope) {
    const ModelLayout layout(sft.config(), table, (sft.dir() / "config.json").string());
    if (layout.rotary_dim() != plan.rotary_dim)
      fail(ErrorKind::Unsupported, "{}: rotary_dim {} of config.json disagrees with the plan's {}", method, layout.rotary_dim(), plan.rotary_dim);
  }
  for (const auto& group : layer_groups(plan)) {
    std::vector<TensorPair> pairs;
    for (const auto* t : group) pairs.push_back({t, base.at(t->name), sft.at(t->name)});
    const QkLayerLayout layout = locate_qk_heads(pairs, plan, method);
    if (needs_rope) check_rope_geometry(plan, layout.layer, method);
  }
}

struct ProcrustesArgs {
  PairArgs pair;
  OutputArgs output;
};

void print_alignments(const ProcrustesMethod& method, const std::vector<NormDeviation>& norms) {
  fmt::print(stderr, "{:>5} {:>5}  {:>12} {:>12} {:>10}  {}\n", "layer", "group", "restore-SFT", "aligned-SFT", "mean|angle|",
             norms.empty() ? "" : "q/k-norm deviation");
  std::size_t k = 0;
  for (const auto& a : method.alignments()) {
    double angles = 0;
    for (std::size_t j = 0; j < a.rotation.cos.size(); ++j) angles += std::abs(a.rotation.angle(static_cast<std::int64_t>(j)));
    const double mean_angle = a.rotation.cos.empty() ? 0.0 : angles / a.rotation.cos.size();
    std::string norm_text;
    if (k < norms.size() && norms[k].layer == a.layer && norms[k].group == a.group) norm_text = fmt::format("{:.3e}", norms[k++].max_relative);
    fmt::print(stderr, "{:>5} {:>5}  {:>12.4f} {:>12.4f} {:>10.4f}  {}\n", a.layer, a.group < 0 ? std::string("all") : std::to_string(a.group),
               std::sqrt(a.restore_to_sft / a.sft), std::sqrt(a.aligned_to_sft / a.sft), mean_angle, norm_text);
  }
  fmt::print(stderr, "(relative Frobenius distances to SFT over each group's Q/K rows; mean |angle| of the rotary pairs in radians)\n");
}

struct RidgeArgs {
  PairArgs pair;
  OutputArgs output;
};

}  // namespace

Action setup_procrustes(CLI::App& sub) {
  auto args = std::make_shared<ProcrustesArgs>();
  args->pair.bind(sub, MethodKind::Procrustes);
  args->output.bind(sub);
  return [args]() {
    install_interrupt_handlers();
    const OpenedPair opened(args->pair);
    const auto& [spec, table, base, sft, plan] = opened;
    const auto made = spec.make_method();
    const auto& method = dynamic_cast<const ProcrustesMethod&>(*made);  // its alignments are printed below
    check_plan(base, sft, plan, table, "procrustes", true);
    auto summary = write_output(base, sft, plan, method, args->output.output_options(spec.selection, command_line()));
    for (const auto& note : plan.notes) fmt::print(stderr, "note: {}\n", note);
    const auto norms = qk_norm_deviation(base, sft, spec.selection, table, method.alignments());
    if (!args->output.quiet) {
      print_alignments(method, norms);
      if (!norms.empty())
        fmt::print(stderr, "note: this model has q/k norm weights, so the base routing is kept only up to the deviation above "
                           "(relative, max over heads and offsets; 0 = exact; see docs/qkpro.md)\n");
      fmt::print(stderr, "aligned {} tensors in {} global layers (rotary_dim {}, alpha {}); wrote {} in {:.2f} s to {}\n",
                 summary.restored.size(), plan.selected_layers.size(), plan.rotary_dim, spec.method.alpha, human_bytes(summary.bytes_written),
                 summary.seconds, args->output.out);
    }
    return kExitOk;
  };
}

Action setup_ridge(CLI::App& sub) {
  auto args = std::make_shared<RidgeArgs>();
  args->pair.bind(sub, MethodKind::Ridge);
  args->output.bind(sub);
  return [args]() {
    install_interrupt_handlers();
    const OpenedPair opened(args->pair);
    const auto& [spec, table, base, sft, plan] = opened;
    const auto method = spec.make_method();
    check_plan(base, sft, plan, table, "ridge", false);
    auto summary = write_output(base, sft, plan, *method, args->output.output_options(spec.selection, command_line()));
    for (const auto& note : plan.notes) fmt::print(stderr, "note: {}\n", note);
    if (!args->output.quiet)
      fmt::print(stderr, "ridge (lambda {}) on {} tensors in {} global layers; wrote {} in {:.2f} s to {}\n", spec.method.lambda,
                 summary.restored.size(), plan.selected_layers.size(), human_bytes(summary.bytes_written), summary.seconds,
                 args->output.out);
    return kExitOk;
  };
}

}  // namespace qk::cli
