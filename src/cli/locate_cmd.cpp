// qkrestore locate: per tensor class and layer range, what base's copy wins back in SFT and what SFT's
// copy breaks in base (docs/locate.md). Parsing only; see src/locate/.
#include <fmt/format.h>

#include "cli/comma_list.hpp"
#include "cli/command.hpp"
#include "cli/measure_args.hpp"
#include "cli/surgery_args.hpp"
#include "io/checkpoint.hpp"
#include "locate/report.hpp"
#include "locate/views.hpp"
#include "surgery/plan.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace qk::cli {
namespace {

// The classes measured when --classes is not given: each block of a layer whole, the paper's Q/K rows,
// and what sits outside the layer stack.
const std::vector<std::string> kDefaultClasses = {"attn.qk", "attn", "linear", "mlp", "moe", "norm", "embed", "lm_head", "final_norm"};

struct LocateArgs {
  PairArgs pair;
  MeasureArgs measure;
  std::string classes, groups, views = "forward,reverse", out;
  bool no_refine = false;
  std::size_t budget = 0;
};

int run_locate_command(const LocateArgs& args) {
  install_interrupt_handlers();
  const FamilyTable table = args.pair.family_table();
  const Checkpoint base(args.pair.base), sft(args.pair.sft);
  const int layers = static_cast<int>(make_plan(base, sft, Selection{}, table).layers.size());

  locate::LocateOptions o;
  const std::vector<std::string> wanted = args.classes.empty() ? kDefaultClasses : split_commas(args.classes);
  o.classes = sweep::tensor_classes(base, sft, table, wanted);
  if (o.classes.empty())
    fail(ErrorKind::Usage, "--classes: none of {} is held by this model (its classes: {})", fmt::format("{}", fmt::join(wanted, ", ")),
         fmt::format("{}", fmt::join(sweep::class_names(table), ", ")));
  o.ranges = args.groups.empty() ? locate::quarter_ranges(layers) : locate::parse_ranges(args.groups, layers);
  o.views.clear();
  for (const auto& v : split_commas(args.views)) {
    if (v == "forward") o.views.push_back(locate::View::Forward);
    else if (v == "reverse") o.views.push_back(locate::View::Reverse);
    else fail(ErrorKind::Usage, "--views: '{}' is not a view (forward, reverse)", v);
  }
  o.refine = !args.no_refine;
  o.budget = args.budget;

  sweep::EmbeddedOptions embedded;
  for (int l = 1; l < layers; ++l) embedded.levels.push_back(static_cast<std::size_t>(l));  // a site may start anywhere
  embedded.record_base = std::find(o.views.begin(), o.views.end(), locate::View::Reverse) != o.views.end();
  auto backends = args.measure.backends(args.pair.base, args.pair.sft, args.out, table, embedded);
  sweep::Measurer measurer(args.measure.ask_options(args.pair.sft), *backends);
  locate::MeasuredViews views(measurer, {"locate", args.measure.niah, args.measure.reasoning, std::filesystem::path(args.out) / "candidates"});
  const locate::LocateResult result = locate::run_locate(o, views);
  if (const std::string saved = backends->savings(); !args.measure.ask.quiet && !saved.empty()) fmt::print(stderr, "locate: {}\n", saved);

  locate::LocateReportInfo info{args.pair.base, args.pair.sft, args.measure.niah, args.measure.reasoning, layers, nullptr, nullptr};
  for (locate::View view : o.views) (view == locate::View::Forward ? info.sft_result : info.base_result) = &views.reference(view);
  locate::write_locate_outputs(result, info, args.out);
  for (locate::View view : o.views) {
    std::string top;
    for (std::size_t k = 0; k < std::min<std::size_t>(3, result.ranking(view).size()); ++k) {
      const locate::SiteResult& s = result.sites[result.ranking(view)[k]];
      top += fmt::format("{}{} ({:+.1f}{})", k ? ", " : "", s.site.unit(), s.effect, s.significant ? ", significant" : "");
    }
    fmt::print("{}: {}\n", view == locate::View::Forward ? "forward (recall won back)" : "reverse (recall broken)", top);
  }
  fmt::print("table: {0}/locate.md, heatmaps: {0}/locate.html, data: {0}/locate.json\n", args.out);
  return kExitOk;
}

}  // namespace

Action setup_locate(CLI::App& sub) {
  auto args = std::make_shared<LocateArgs>();
  args->pair.bind(sub);
  args->measure.bind(sub, false);
  sub.add_option("--classes", args->classes,
                 "tensor classes to measure, comma-separated (default: attn.qk, attn, linear, mlp, moe, norm, embed, lm_head, "
                 "final_norm, those the model holds)");
  sub.add_option("--groups", args->groups, "layer ranges, e.g. 0-3,4-7,8-11 (default: one per quarter of the depth)");
  sub.add_option("--views", args->views, "forward (SFT + base's X), reverse (base + SFT's X), or both")->capture_default_str();
  sub.add_flag("--no-refine", args->no_refine, "do not split the ranges whose effect is significant");
  sub.add_option("--budget", args->budget, "measure at most N sites (0: no limit)")->capture_default_str();
  sub.add_option("--out", args->out, "directory: locate.md, locate.html, locate.json, candidates/")->required();
  return [args]() { return run_locate_command(*args); };
}

}  // namespace qk::cli
