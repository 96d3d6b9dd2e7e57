// `qkrestore niah score`: RULER string_match_all per task and length; CSV, JSON, markdown, SVG heatmaps.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "niah/scoring.hpp"

namespace qk::cli {
namespace {

struct ScoreArgs {
  std::string predictions, out, title;
};

int run_score(const ScoreArgs& args) {
  using namespace qk::niah;
  const Summary summary = summarize(score_predictions_file(args.predictions));
  const std::string title = args.title.empty() ? std::filesystem::path(args.predictions).stem().string() : args.title;
  write_summary_files(summary, args.out, title);
  fmt::print("{} predictions, {} tasks, {} lengths -> {}/summary.{{csv,json,md}}, heatmap.svg\n", summary.predictions,
             summary.tasks.size(), summary.lengths.size(), args.out);
  for (int length : summary.lengths) fmt::print("  {:>8} tokens: average {:.2f}\n", length, summary.average(length));
  return kExitOk;
}

}  // namespace

Action setup_niah_score(CLI::App& app) {
  auto args = std::make_shared<ScoreArgs>();
  app.add_option("predictions", args->predictions, "predictions JSONL from `niah run`")->required();
  app.add_option("-o,--out", args->out, "output folder")->required();
  app.add_option("--title", args->title, "title in the summary and heatmaps (default: file name)");
  return [args] { return run_score(*args); };
}

}  // namespace qk::cli
