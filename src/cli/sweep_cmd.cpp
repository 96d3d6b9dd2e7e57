// qkrestore sweep: every candidate repair measured on recall and reasoning, the frontier, and the pick
// by a stated rule (docs/heads.md). Parsing only; see src/sweep/.
#include <fmt/format.h>

#include "cli/comma_list.hpp"
#include "cli/command.hpp"
#include "cli/measure_args.hpp"
#include "cli/surgery_args.hpp"
#include "heads/heads.hpp"
#include "io/checkpoint.hpp"
#include "locate/grid.hpp"
#include "locate/locate.hpp"
#include "locate/report.hpp"
#include "sweep/units.hpp"
#include "surgery/output.hpp"
#include "surgery/plan.hpp"
#include "sweep/sweep.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace qk::cli {
namespace {

// "0.25,0.5" -> {0.25, 0.5}; "" -> none.
std::vector<double> parse_alphas(const std::string& text, const char* option) {
  std::vector<double> alphas;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    std::size_t used = 0;
    double value = -1;
    try {
      value = std::stod(item, &used);
    } catch (const std::exception&) {
    }
    if (item.empty() || used != item.size() || !(value >= 0 && value <= 1))
      fail(ErrorKind::Usage, "{}: '{}' is not an alpha in [0, 1]", option, item);
    alphas.push_back(value);
    start = end + 1;
  }
  return alphas;
}

// The pool of --search: each class a repair can take (those the pair holds) over each quarter of the
// depth, cut to the layers holding it (locate's grid), the early quarters first: where pilot 5 found the
// damage, so the screen meets them before the budget runs out.
std::vector<std::string> class_units(const Checkpoint& base, const Checkpoint& sft, const FamilyTable& table, int layers) {
  const std::vector<sweep::TensorClass> classes =
      sweep::tensor_classes(base, sft, table, {"mlp", "moe", "linear", "attn", "norm", "embed", "lm_head"});
  std::vector<std::string> units;
  for (const auto& c : classes)
    if (!c.layers) units.push_back(c.name);  // outside the layer stack: last
  std::vector<std::string> per_layer;
  for (const auto& range : locate::quarter_ranges(layers))
    for (const auto& c : classes)
      if (c.layers)
        if (auto site = locate::site_of(c, range)) per_layer.push_back(site->unit());
  per_layer.insert(per_layer.end(), units.begin(), units.end());
  return per_layer;
}

// "mlp@0-2,attn.qk@3:3" -> its units (a unit holds no comma).
std::vector<std::string> split_units(const std::string& text) {
  std::vector<std::string> units = split_commas(text);
  for (const auto& unit : units)
    if (unit.empty()) fail(ErrorKind::Usage, "--units '{}': an empty unit", text);
  return units;
}

struct SweepArgs {
  PairArgs pair;
  MeasureArgs measure;
  sweep::SweepOptions options;
  std::string out, niah_select, reasoning_select, heads_file, write;
  int top_k = 3;
  std::string blend = "0.5", qkpro = "1";
  bool no_per_layer = false, no_base = false;
  // The search: its pool (--units, or --locate-file's forward ranking), weights and budget.
  std::string units, locate_file, weights = "0.25,0.5,1";
  std::size_t budget = 20;
  bool search = false, no_search = false, no_prefill_reuse = false;
  CLI::App* app = nullptr;
  double min_reasoning = -1, min_recall = -1, min_gain_kept = -1;
};

int run_sweep_command(SweepArgs& args) {
  install_interrupt_handlers();
  sweep::SweepOptions o = args.options;
  o.base = args.pair.base;
  o.sft = args.pair.sft;
  o.out = args.out;
  o.niah_tasks = args.measure.niah;
  o.reasoning_tasks = args.measure.reasoning;
  o.niah_select = args.niah_select;
  o.reasoning_select = args.reasoning_select;
  o.ask = args.measure.ask_options(args.pair.sft);
  if (args.min_reasoning >= 0) o.rule.min_reasoning = args.min_reasoning;
  if (args.min_recall >= 0) o.rule.min_recall = args.min_recall;
  if (args.min_gain_kept >= 0) o.rule.min_gain_kept = args.min_gain_kept;

  const FamilyTable table = args.pair.family_table();
  // The search's pool: given, or the units locate ranked (forward view, best first).
  std::vector<std::string> pool;
  if (!args.no_search) {
    if (!args.units.empty()) pool = split_units(args.units);
    else if (!args.locate_file.empty()) pool = locate::read_forward_ranking(args.locate_file);
    else if (args.search) {
      const Checkpoint base(o.base), sft(o.sft);
      pool = class_units(base, sft, table, static_cast<int>(make_plan(base, sft, Selection{}, table).layers.size()));
    }
    if (pool.empty() && (args.search || !args.locate_file.empty()))
      fail(ErrorKind::Usage, "the search has no unit to try: {}", args.search ? "the pair holds none of the classes"
                                                                              : args.locate_file + " ranks no site that won recall back");
  }
  // Searching replaces the listing: unless asked for, the listed candidates are the reference points
  // (SFT, base, the one-group repair the search starts from, the paper's restore).
  auto given = [&](const char* option) { return args.app->get_option(option)->count() > 0; };
  const bool searching = !pool.empty();
  sweep::CandidateSetOptions set;
  set.top_k = searching && !given("--top-k") ? 1 : args.top_k;
  set.blend_alphas = parse_alphas(searching && !given("--blend") ? "" : args.blend, "--blend");
  set.procrustes_alphas = parse_alphas(searching && !given("--qkpro") ? "" : args.qkpro, "--qkpro");
  set.per_layer = !args.no_per_layer && !searching;
  set.with_base = !args.no_base;
  {
    const Checkpoint base(o.base), sft(o.sft);
    set.global_layers = make_plan(base, sft, Selection{}, table).selected_layers;
  }
  if (!args.heads_file.empty()) {
    set.ranked_groups = sweep::read_ranked_groups(args.heads_file);
  } else if (set.top_k > 0) {
    // No ranking given: rank the groups here (embedded engine evidence when it runs the family).
    heads::HeadsOptions h;
    h.base = o.base;
    h.sft = o.sft;
    h.engine = args.measure.serve_cmd.empty();  // its own short probes (1K), not the sweep's NIAH file: cheap evidence
    h.quiet = o.ask.quiet;
    const heads::HeadsReport report = heads::find_heads(h, table);
    heads::write_heads_outputs(report, o.out / "heads");
    for (const auto& g : report.groups) set.ranked_groups.push_back(fmt::format("{}:{}", g.layer, g.kv_group));
    if (!o.ask.quiet) fmt::print(stderr, "sweep: heads ranked in {:.0f} s -> {}/heads/heads.md\n", report.seconds, o.out.string());
  }
  const auto candidates = sweep::make_candidates(set);
  sweep::EmbeddedOptions embedded;
  embedded.prefill_reuse = !args.no_prefill_reuse;
  for (int l : set.global_layers) embedded.levels.push_back(static_cast<std::size_t>(l));
  if (searching) {
    if (set.ranked_groups.empty()) fail(ErrorKind::Usage, "the search starts from the best head repair, and heads ranked no group");
    sweep::SearchPlan plan;
    plan.start = "top-1";
    plan.options.budget = args.budget;
    plan.options.weights = parse_alphas(args.weights, "--weights");
    // A unit that meets the start's own rows (its KV group's layer) cannot be added to it.
    const std::string start_unit = "attn.qk@" + set.ranked_groups.front().substr(0, set.ranked_groups.front().find(':'));
    for (const auto& unit : pool)
      if (!sweep::units_overlap(unit, start_unit)) plan.options.pool.push_back(unit);
    plan.compose = sweep::with_moves;
    for (const auto& unit : plan.options.pool)  // where the composed candidates may start to differ from SFT
      if (auto first = sweep::unit_first_layer(unit); first && *first > 0) embedded.levels.push_back(static_cast<std::size_t>(*first));
    o.search = std::move(plan);
  }
  std::unique_ptr<sweep::CandidateBackends> backends = args.measure.backends(o.base, o.sft, o.out, table, embedded);
  const sweep::SweepResult result = sweep::run_sweep(o, candidates, *backends);
  backends.reset();
  sweep::write_sweep_outputs(o, result);
  fmt::print("rule: {}\npick: {}\n", result.rule, result.reason);
  if (result.recommended) {
    const sweep::Candidate& pick = result.results[*result.recommended].candidate;
    const std::string target = args.write.empty() ? "OUT" : args.write;
    const std::string command = pick.spec.command(o.base.string(), o.sft.string(), target);
    if (args.write.empty()) {
      fmt::print("write it: {}\n", command);
    } else {  // --write: the pick as a checkpoint, as that command would write it
      const Checkpoint base(o.base), sft(o.sft);
      const SurgeryPlan plan = make_plan(base, sft, pick.spec.selection, table);
      OutputOptions output;
      output.out = args.write;
      output.quiet = o.ask.quiet;
      output.command_line = command;
      output.selection = pick.spec.selection;
      write_output(base, sft, plan, *pick.spec.make_method(), output);
      fmt::print("wrote {} ({})\n", args.write, command);
    }
  }
  fmt::print("table: {0}/sweep.md, frontier: {0}/frontier.svg, report: {0}/report.html\n", o.out.string());
  return kExitOk;
}

}  // namespace

Action setup_sweep(CLI::App& sub) {
  auto args = std::make_shared<SweepArgs>();
  args->app = &sub;
  args->pair.bind(sub);
  auto& o = args->options;
  args->measure.bind(sub, true);
  sub.add_option("--niah-select", args->niah_select,
                 "NIAH task JSONL to choose on (out of sample: --niah is then only reported on)");
  sub.add_option("--reasoning-select", args->reasoning_select,
                 "reasoning problems to choose on (out of sample: --reasoning is then only reported on)");
  sub.add_flag("--test-all", o.test_all,
               "out of sample: measure every candidate on the test sets (default: the reference points, the pick and "
               "the selection frontier)");
  sub.add_option("--heads-file", args->heads_file, "heads.json of `qkrestore heads` (default: ranked here)");
  sub.add_option("--top-k", args->top_k, "candidates restoring the best 1..K KV groups")->capture_default_str();
  sub.add_option("--blend", args->blend, "blend alphas, comma-separated ('' for none)")->capture_default_str();
  sub.add_option("--qkpro", args->qkpro, "QK-Pro (procrustes) alphas, comma-separated ('' for none)")->capture_default_str();
  sub.add_flag("--no-per-layer", args->no_per_layer, "skip the candidates restoring one global layer each");
  sub.add_flag("--no-base", args->no_base, "do not measure the base model (then no 'gain kept' column)");
  sub.add_option("--min-reasoning", args->min_reasoning, "rule: reasoning at least this percent (replaces the McNemar rule)");
  sub.add_option("--min-recall", args->min_recall, "rule: recall at least this percent");
  sub.add_option("--min-gain-kept", args->min_gain_kept,
                 "rule: keep at least this percent of SFT's reasoning gain over base (replaces the McNemar rule; "
                 "does not tighten with more problems)");
  sub.add_option("--units", args->units,
                 "search: class x layer units to add to the best head repair, in the order to try them (e.g. "
                 "mlp@0-2,mlp@3-5,linear@0-2); default: locate's ranking from --locate-file");
  sub.add_option("--locate-file", args->locate_file, "search: locate.json of `qkrestore locate`; its forward ranking is the pool");
  sub.add_option("--weights", args->weights, "search: blend weights of base to try per unit, ascending")->capture_default_str();
  sub.add_option("--budget", args->budget, "search: candidates measured at most, the listed ones included")->capture_default_str();
  sub.add_flag("--search", args->search,
               "search over the tensor classes (mlp, moe, linear, attn, norm per quarter of the depth, embed, lm_head), "
               "early layers first; --units or --locate-file give the pool instead");
  sub.add_flag("--no-search", args->no_search, "list candidates only (no search even with --units or --locate-file)");
  sub.add_flag("--no-prefill-reuse", args->no_prefill_reuse,
               "every candidate prefills every prompt in full (the same answers, slower: for benchmarks)");
  sub.add_option("--write", args->write, "also write the recommended repair to this new directory");
  sub.add_option("--out", args->out, "directory: sweep.json, sweep.md, frontier.svg, report.html, candidates/")->required();
  return [args]() { return run_sweep_command(*args); };
}

}  // namespace qk::cli
