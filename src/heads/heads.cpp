#include "heads/heads.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "diagnose/layer_drift.hpp"
#include "engine/causal_lm.hpp"
#include "engine/prefill_reuse.hpp"
#include "heads/candidate.hpp"
#include "heads/evidence.hpp"
#include "heads/probe_sample.hpp"
#include "io/file_ops.hpp"
#include "surgery/output.hpp"
#include "surgery/procrustes_norms.hpp"
#include "util/error.hpp"

namespace qk::heads {
namespace {

const auto g_start = std::chrono::steady_clock::now();
constexpr std::size_t kReuseBudgetBytes = std::size_t{1} << 30;  // SFT's recorded prefill, as sweep's

void say(bool quiet, const std::string& text) {
  if (!quiet)
    fmt::print(stderr, "heads [{:6.1f} s] {}\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - g_start).count(), text);
}

std::string interval_text(const Estimate& i) { return fmt::format("{:.1f} [{:.1f}, {:.1f}]", i.value, i.low, i.high); }

// Per global layer and query head: diagnose's form drift, from the weights alone.
std::map<std::pair<int, int>, double> head_drifts(const Checkpoint& base, const Checkpoint& sft, const SurgeryPlan& plan) {
  std::map<std::pair<int, int>, double> drift;
  const double theta = rope_theta(sft.config());
  for (const auto& group : layer_groups(plan)) {
    if (group.empty() || group.front()->layer < 0) continue;
    std::vector<TensorPair> pairs;
    for (const auto* t : group) pairs.push_back({t, base.at(t->name), sft.at(t->name)});
    const auto layer = diagnose::global_layer_drift(pairs, plan, theta);
    for (const auto& h : layer.heads) drift[{layer.layer, h.head}] = h.form_drift;
  }
  return drift;
}

}  // namespace

HeadsReport find_heads(const HeadsOptions& o, const FamilyTable& table) {
  const auto start = std::chrono::steady_clock::now();
  const Checkpoint base(o.base), sft(o.sft);
  const SurgeryPlan plan = make_plan(base, sft, {}, table);
  HeadsReport report;
  report.base = o.base.string();
  report.sft = o.sft.string();
  report.model_type = plan.model_type;
  report.heads = plan.heads;
  report.kv_heads = plan.kv_heads;
  for (const auto& info : plan.layers)
    if (info.kind == LayerKind::Global) report.global_layers.push_back(info.index);
  if (report.global_layers.empty()) fail(ErrorKind::Unsupported, "{}: the model has no global attention layer to rank heads in", o.sft.string());
  {
    // The same refusals as --heads (MLA, shared blocks with adapters): ask the planner.
    Selection every_group;
    every_group.heads.emplace();
    for (int l : report.global_layers) every_group.heads->layers[l].all_groups = true;
    make_plan(base, sft, every_group, table);
  }

  say(o.quiet, fmt::format("drift of {} query heads in global layers {}", plan.heads * static_cast<long>(report.global_layers.size()),
                           fmt::join(report.global_layers, ",")));
  const auto drift = head_drifts(base, sft, plan);
  for (int layer : report.global_layers)
    for (long g = 0; g < plan.kv_heads; ++g) {
      GroupEvidence group;
      group.layer = layer;
      group.kv_group = static_cast<int>(g);
      for (int h : query_heads_of_group(static_cast<int>(g), plan.heads, plan.kv_heads)) {
        HeadEvidence e;
        e.head = h;
        auto it = drift.find({layer, h});
        e.drift = it == drift.end() ? 0.0 : it->second;
        group.heads.push_back(e);
      }
      report.groups.push_back(group);
    }

  if (!o.engine) {
    report.notes.push_back("drift only: run with --engine embedded (qwen3_next) for the attention and recall evidence");
    rank(report);
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
  }
  const auto supported = engine::supported_model_types();
  if (std::find(supported.begin(), supported.end(), plan.model_type) == supported.end())
    fail(ErrorKind::Unsupported, "--engine embedded runs {} only, not {}; without --engine, heads ranks by drift alone",
         fmt::join(supported, ", "), plan.model_type);

  // NIAH probes: generated in-process, or the user's task file.
  const std::vector<niah::Sample> samples =
      o.niah_tasks.empty() ? generate_niah_samples(o.sft.string(), o.task, o.lengths, o.samples, o.seed, o.template_name, o.tokens_to_generate)
                           : read_niah_samples(o.niah_tasks);
  say(o.quiet, fmt::format("{} NIAH samples ready", samples.size()));
  const Tokenizer tokenizer = Tokenizer::from_file(o.sft / "tokenizer.json");
  std::vector<ProbeSample> probes;
  for (const auto& s : samples) probes.push_back(make_probe_sample(s, tokenizer));
  report.samples = probes.size();
  report.niah_description = o.niah_tasks.empty() ? fmt::format("{} at {} tokens, {} per length, seed {}, template {}", o.task,
                                                               fmt::join(o.lengths, ","), o.samples, o.seed, o.template_name)
                                                 : o.niah_tasks;

  auto attach = [&](const std::vector<HeadAttention>& measured, bool of_base) {
    std::map<std::pair<int, int>, const HeadAttention*> by_head;
    for (const auto& m : measured) by_head[{m.layer, m.head}] = &m;
    for (auto& g : report.groups)
      for (auto& h : g.heads) {
        auto it = by_head.find({g.layer, h.head});
        if (it == by_head.end()) continue;
        (of_base ? h.mass_base : h.mass_sft) = it->second->mass;
        (of_base ? h.retrieval_base : h.retrieval_sft) = it->second->retrieval;
      }
  };
  {
    auto model = engine::load_causal_lm(o.base);
    const ProbeRun run = run_probes(*model, probes, true);
    attach(run.heads, true);
    report.recall_base = run.recall.recall();
    say(o.quiet, fmt::format("base: attention on the needle measured; recall {}", interval_text(*report.recall_base)));
  }
  // SFT's prefill recorded at each global layer: a candidate reruns its probes from its first changed layer.
  std::vector<std::size_t> levels(report.global_layers.begin(), report.global_layers.end());
  auto reuse = std::make_unique<engine::PrefillReuse>(engine::load_causal_lm(o.sft), levels, kReuseBudgetBytes);
  engine::PrefillReuse& model = *reuse;
  if (o.recall) model.record();
  const ProbeRun sft_run = run_probes(model, probes, true);
  attach(sft_run.heads, false);
  report.recall_sft = sft_run.recall.recall();
  say(o.quiet, fmt::format("SFT: attention on the needle measured; recall {}", interval_text(*report.recall_sft)));
  const bool lost = report.recall_sft->value < report.recall_base->value || o.always_recall;
  if (o.recall && !lost)
    report.notes.push_back(fmt::format("SFT recalls as well as base on these samples ({} against {}): no recall to win back, so the recall "
                                       "gain per group was not measured; probe the lengths where SFT loses recall (--lengths, --niah)",
                                       interval_text(*report.recall_sft), interval_text(*report.recall_base)));
  if (o.recall && lost) {
    InMemorySurgery surgery(model, base, sft, table);
    auto probe_candidate = [&](const RepairSpec& candidate) {
      const SurgeryPlan& plan = surgery.apply(candidate);
      model.reuse_from(plan.first_changed_layer().value());
      return run_probes(model, probes, false).recall;
    };
    report.recall_full_restore = probe_candidate(RepairSpec{}).recall();
    say(o.quiet, fmt::format("SFT + full QK-Restore (in memory): recall {}", interval_text(*report.recall_full_restore)));
    rank(report);  // by retrieval and drift: the order in which groups are tried when --recall-top limits them
    const std::size_t tried = o.recall_top > 0 ? std::min<std::size_t>(o.recall_top, report.groups.size()) : report.groups.size();
    for (std::size_t i = 0; i < tried; ++i) {
      GroupEvidence& g = report.groups[i];
      RepairSpec candidate;
      candidate.selection.heads.emplace().layers[g.layer].kv_groups.insert(g.kv_group);
      const RecallResult r = probe_candidate(candidate);
      g.recall = r.recall();
      g.recall_gain = recall_gain(r, sft_run.recall);
      say(o.quiet, fmt::format("  group {}:{} alone: recall {}, gain {}", g.layer, g.kv_group, interval_text(*g.recall),
                               interval_text(*g.recall_gain)));
    }
    surgery.undo();
    if (tried < report.groups.size())
      report.notes.push_back(fmt::format("recall gain measured for the {} best groups by retrieval and drift (--recall-top)", tried));
  }
  rank(report);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

void write_heads_outputs(const HeadsReport& report, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  for (const char* name : {"heads.json", "heads.md", "heads.svg"}) std::filesystem::remove(dir / name);  // ours: replaced
  write_text_file(dir / "heads.json", to_json(report).dump(2) + "\n", Durability::PageCache);
  write_text_file(dir / "heads.md", to_markdown(report), Durability::PageCache);
  write_text_file(dir / "heads.svg", to_svg(report), Durability::PageCache);
}

}  // namespace qk::heads
