// `qkrestore report`: one HTML page with recall (NIAH) and reasoning (eval) for every run, the
// recall-vs-reasoning scatter and paired tests. Parsing only: the work lives in src/eval/report.
#include <fstream>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "eval/report.hpp"
#include "util/error.hpp"

namespace qk::cli {
namespace {

struct FrontierReportArgs {
  std::vector<std::string> runs;
  std::string out, title = "Recall and reasoning", reference;
};

int run_frontier_report(const FrontierReportArgs& args) {
  const auto runs = eval::load_report_runs(args.runs);
  const std::string html = eval::render_report(runs, args.title, args.reference);
  std::ofstream out(args.out, std::ios::binary | std::ios::trunc);
  if (!out) fail(ErrorKind::Io, "cannot write {}", args.out);
  out << html;
  out.close();
  if (!out) fail(ErrorKind::Io, "writing {} failed", args.out);
  fmt::print("wrote {} ({} runs)\n", args.out, runs.size());
  return kExitOk;
}

}  // namespace

Action setup_report(CLI::App& app) {
  auto args = std::make_shared<FrontierReportArgs>();
  app.add_option("--run", args->runs,
                 "NAME=DIR of a `niah score` or `eval score` folder (or a folder with niah/ and eval/); repeat, a NAME "
                 "twice merges")
      ->required();
  app.add_option("--reference", args->reference, "run the others are tested against (default: the first)");
  app.add_option("--title", args->title, "page title")->capture_default_str();
  app.add_option("-o,--out", args->out, "output HTML file")->required();
  return [args] { return run_frontier_report(*args); };
}

}  // namespace qk::cli
