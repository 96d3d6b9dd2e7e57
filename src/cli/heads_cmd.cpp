// qkrestore heads: rank the KV groups of the global layers by the evidence that they carry the recall
// SFT lost (docs/heads.md). Parsing only; see src/heads/.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/surgery_args.hpp"
#include "heads/heads.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace qk::cli {
namespace {

struct HeadsArgs {
  PairArgs pair;
  heads::HeadsOptions options;
  std::string engine, lengths = "1K", out;
  bool no_recall = false;
};

}  // namespace

Action setup_heads(CLI::App& sub) {
  auto args = std::make_shared<HeadsArgs>();
  args->pair.bind(sub);
  auto& o = args->options;
  sub.add_option("--engine", args->engine, "embedded: also measure attention on the needle and recall per group with the CPU engine "
                                           "(qwen3_next); default: drift only");
  sub.add_option("--niah", o.niah_tasks, "NIAH task JSONL (qkrestore niah generate) for the probes; default: generated in-process");
  sub.add_option("--task", o.task, "NIAH task generated in-process")->capture_default_str();
  sub.add_option("--lengths", args->lengths, "lengths generated in-process, e.g. 1K,2K")->capture_default_str();
  sub.add_option("--samples", o.samples, "samples per length generated in-process")->capture_default_str();
  sub.add_option("--seed", o.seed, "seed of the generated samples")->capture_default_str();
  sub.add_option("--template", o.template_name, "prompt template of the generated samples: base, chatml, llama-3")->capture_default_str();
  sub.add_flag("--no-recall", args->no_recall, "skip the recall measurement (attention and drift only)");
  sub.add_option("--recall-top", o.recall_top, "measure the recall gain of the N best groups by retrieval and drift (0: all)")
      ->capture_default_str();
  sub.add_flag("--always-recall", o.always_recall, "measure the recall gain even when SFT recalls as well as base on the samples");
  sub.add_option("--out", args->out, "directory for heads.json, heads.md and heads.svg (created)")->required();
  sub.add_flag("--quiet,-q", o.quiet, "no progress on stderr");
  return [args]() {
    install_interrupt_handlers();
    auto o = args->options;
    o.base = args->pair.base;
    o.sft = args->pair.sft;
    if (!args->engine.empty() && args->engine != "embedded")
      fail(ErrorKind::Usage, "--engine '{}': the only engine is 'embedded' (without --engine: drift only)", args->engine);
    o.engine = args->engine == "embedded";
    o.lengths = parse_lengths(args->lengths);
    o.recall = !args->no_recall;
    const heads::HeadsReport report = heads::find_heads(o, args->pair.family_table());
    heads::write_heads_outputs(report, args->out);
    fmt::print("{}", heads::to_markdown(report));
    if (!o.quiet) fmt::print(stderr, "wrote {0}/heads.json, {0}/heads.md and {0}/heads.svg in {1:.1f} s\n", args->out, report.seconds);
    return kExitOk;
  };
}

}  // namespace qk::cli
