// qkrestore: the command-line front. Parsing only; every command's work lives in a library.
#include <cstdio>
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/surgery_args.hpp"
#include "util/error.hpp"

namespace qk::cli {

// The commands, in --help order. A new command is one line here and its setup_<name> in command.hpp.
const Command kCommands[] = {
    {"plan", "show which tensors and rows restore would take from BASE", setup_plan},
    {"restore", "take W_Q/W_K of the global attention layers from BASE, all else from SFT", setup_restore},
    {"procrustes", "QK-Pro: base W_Q/W_K turned by the RoPE-commuting rotation closest to SFT", setup_procrustes},
    {"ridge", "QK-Pro, ridge reading: base W_K, SFT W_Q pulled toward base's by ridge least squares", setup_ridge},
    {"blend", "W_Q/W_K = alpha * BASE + (1 - alpha) * SFT on the restored rows", setup_blend},
    {"diagnose", "where SFT moved the attention routing: per layer and head drift, rotation share, bands", setup_diagnose},
    {"heads", "rank the KV groups of the global layers by retrieval evidence: drift, attention on the needle, recall gained", setup_heads},
    {"sweep", "measure candidate repairs on recall and reasoning, draw the frontier, recommend one by a stated rule",
     setup_sweep},
    {"locate", "where SFT broke recall: each tensor class and layer range from base into SFT, and from SFT into base", setup_locate},
    {"verify", "check an output against BASE and SFT byte for byte", setup_verify},
    {"niah", "RULER-compatible needle-in-a-haystack evaluation: generate, run, score, report", setup_niah},
    {"eval", "reasoning accuracy (GSM8K, MATH, JSONL) with 95% intervals and paired tests: run, score", setup_eval},
    {"report", "one HTML report of recall and reasoning: intervals, paired tests, the recall-vs-reasoning frontier",
     setup_report},
    {"serve", "Serve a model with the embedded CPU engine over an OpenAI-compatible HTTP API", setup_serve},
    {"generate", "Generate a continuation of a prompt with the embedded CPU engine", setup_generate},
};

// `qkrestore niah <verb>`.
const Command kNiahVerbs[] = {
    {"generate", "Write a RULER-format NIAH task JSONL (random samples, or a length x depth grid with --grid-depths)",
     setup_niah_generate},
    {"run", "Run a task JSONL against an OpenAI-compatible server; predictions append to a JSONL (resumable)", setup_niah_run},
    {"score", "Score a predictions JSONL (RULER string_match_all): summary CSV/JSON/markdown and heatmaps", setup_niah_score},
    {"report", "HTML report comparing scored runs: a table per task and length, and heatmaps", setup_niah_report},
};

Action setup_niah(CLI::App& sub) {
  sub.require_subcommand(1);
  return add_commands(sub, kNiahVerbs);
}

Action add_commands(CLI::App& app, std::span<const Command> commands) {
  auto actions = std::make_shared<std::vector<std::pair<CLI::App*, Action>>>();
  for (const auto& command : commands) {
    CLI::App* sub = app.add_subcommand(command.name, command.description);
    actions->emplace_back(sub, command.setup(*sub));
  }
  return [actions]() {
    for (auto& [sub, action] : *actions)
      if (sub->parsed()) return action();
    return kExitUsage;
  };
}

}  // namespace qk::cli

int main(int argc, char** argv) {
  using namespace qk::cli;
  remember_command_line(argc, argv);
  CLI::App app{"qkrestore: repair the long-context recall of hybrid LLMs after CoT fine-tuning"};
  app.set_version_flag("--version", std::string("qkrestore ") + QK_VERSION);
  app.require_subcommand(1);
  const Action run = add_commands(app, kCommands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  try {
    return run();
  } catch (const qk::Error& e) {
    fmt::print(stderr, "qkrestore: error: {}\n", e.what());
    if (e.kind() == qk::ErrorKind::Usage) return kExitUsage;
    if (e.kind() == qk::ErrorKind::Verify) return kExitMismatch;
    return kExitError;
  } catch (const std::exception& e) {
    fmt::print(stderr, "qkrestore: internal error: {}\n", e.what());
    return kExitError;
  }
}
