// qkrestore sweep: every candidate repair measured on recall and reasoning, the frontier, and the pick
// by a stated rule (docs/heads.md). Parsing only; see src/sweep/.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/surgery_args.hpp"
#include "heads/heads.hpp"
#include "io/checkpoint.hpp"
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

struct SweepArgs {
  PairArgs pair;
  sweep::SweepOptions options;
  std::string out, niah, reasoning, niah_select, reasoning_select, format = "auto", heads_file, serve_cmd, write;
  int top_k = 3;
  std::string blend = "0.5", qkpro = "1";
  bool no_per_layer = false, no_base = false;
  double min_reasoning = -1, min_recall = -1, min_gain_kept = -1, serve_timeout = 600;
};

int run_sweep_command(SweepArgs& args) {
  install_interrupt_handlers();
  sweep::SweepOptions o = args.options;
  o.base = args.pair.base;
  o.sft = args.pair.sft;
  o.out = args.out;
  o.niah_tasks = args.niah;
  o.reasoning_tasks = args.reasoning;
  o.niah_select = args.niah_select;
  o.reasoning_select = args.reasoning_select;
  o.ask.reasoning_format.format = eval::parse_problem_format(args.format);
  o.ask.chat_model = o.sft;
  if (args.min_reasoning >= 0) o.rule.min_reasoning = args.min_reasoning;
  if (args.min_recall >= 0) o.rule.min_recall = args.min_recall;
  if (args.min_gain_kept >= 0) o.rule.min_gain_kept = args.min_gain_kept;

  const FamilyTable table = args.pair.family_table();
  sweep::CandidateSetOptions set;
  set.top_k = args.top_k;
  set.blend_alphas = parse_alphas(args.blend, "--blend");
  set.procrustes_alphas = parse_alphas(args.qkpro, "--qkpro");
  set.per_layer = !args.no_per_layer;
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
    h.engine = args.serve_cmd.empty();  // its own short probes (1K), not the sweep's NIAH file: cheap evidence
    h.quiet = o.ask.quiet;
    const heads::HeadsReport report = heads::find_heads(h, table);
    heads::write_heads_outputs(report, o.out / "heads");
    for (const auto& g : report.groups) set.ranked_groups.push_back(fmt::format("{}:{}", g.layer, g.kv_group));
    if (!o.ask.quiet) fmt::print(stderr, "sweep: heads ranked in {:.0f} s -> {}/heads/heads.md\n", report.seconds, o.out.string());
  }
  const auto candidates = sweep::make_candidates(set);
  std::unique_ptr<sweep::CandidateBackends> backends;
  if (args.serve_cmd.empty()) {
    backends = sweep::make_embedded_candidates(o.base, o.sft, table);
  } else {
    sweep::ServeOptions serve;
    serve.command = args.serve_cmd;
    serve.scratch = o.out / "scratch";
    serve.ready_timeout_s = args.serve_timeout;
    backends = sweep::make_served_candidates(o.base, o.sft, table, serve);
  }
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
  args->pair.bind(sub);
  auto& o = args->options;
  sub.add_option("--niah", args->niah, "NIAH task JSONL (qkrestore niah generate): the recall axis")->required();
  sub.add_option("--reasoning", args->reasoning, "reasoning problems (GSM8K / MATH / JSONL): the reasoning axis")->required();
  sub.add_option("--niah-select", args->niah_select,
                 "NIAH task JSONL to choose on (out of sample: --niah is then only reported on)");
  sub.add_option("--reasoning-select", args->reasoning_select,
                 "reasoning problems to choose on (out of sample: --reasoning is then only reported on)");
  sub.add_flag("--test-all", o.test_all,
               "out of sample: measure every candidate on the test sets (default: the reference points, the pick and "
               "the selection frontier)");
  sub.add_option("--format", args->format, "format of --reasoning: auto | gsm8k | math | jsonl")->capture_default_str();
  sub.add_option("--reasoning-limit", o.ask.reasoning_limit, "use the first N problems (0: all)")->capture_default_str();
  sub.add_option("--template", o.ask.reasoning_template,
                 "reasoning prompts: base | chatml | llama-3 raw templates (default: the model's chat template)");
  sub.add_option("--max-tokens", o.ask.reasoning_max_tokens, "tokens per reasoning reply")->capture_default_str();
  sub.add_option("--niah-max-tokens", o.ask.niah_max_tokens, "tokens per NIAH answer")->capture_default_str();
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
  sub.add_option("--serve-cmd", args->serve_cmd,
                 "evaluate through your own server started per candidate, e.g. 'vllm serve {model} --port {port}' "
                 "(default: the embedded engine in-process)");
  sub.add_option("--serve-timeout", args->serve_timeout, "seconds a server may take to answer GET /v1/models")
      ->capture_default_str();
  sub.add_option("--write", args->write, "also write the recommended repair to this new directory");
  sub.add_option("-j,--jobs", o.ask.jobs, "requests in flight")->capture_default_str();
  sub.add_option("--out", args->out, "directory: sweep.json, sweep.md, frontier.svg, report.html, candidates/")->required();
  sub.add_flag("--quiet,-q", o.ask.quiet, "no progress on stderr");
  return [args]() { return run_sweep_command(*args); };
}

}  // namespace qk::cli
