// `qkrestore niah report`: one HTML page comparing scored runs.
#include <fstream>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "niah/report_html.hpp"
#include "util/error.hpp"

namespace qk::cli {
namespace {

struct ReportArgs {
  std::vector<std::string> runs;
  std::string out, title = "NIAH recall";
};

int run_report(const ReportArgs& args) {
  using namespace qk::niah;
  std::vector<NamedRun> runs;
  for (const auto& spec : args.runs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      fail(ErrorKind::Usage, "--run '{}' must be NAME=DIR (a folder written by `niah score`)", spec);
    std::filesystem::path dir = spec.substr(eq + 1);
    runs.push_back({spec.substr(0, eq), read_summary_json(std::filesystem::is_directory(dir) ? dir / "summary.json" : dir)});
  }
  std::ofstream out(args.out, std::ios::binary | std::ios::trunc);
  if (!out) fail(ErrorKind::Io, "cannot write {}", args.out);
  out << render_report_html(runs, args.title);
  fmt::print("wrote {} ({} runs)\n", args.out, runs.size());
  return kExitOk;
}

}  // namespace

Action setup_niah_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  app.add_option("--run", args->runs, "NAME=DIR of a `niah score` output; repeat for each run")->required();
  app.add_option("--title", args->title, "page title")->capture_default_str();
  app.add_option("-o,--out", args->out, "output HTML file")->required();
  return [args] { return run_report(*args); };
}

}  // namespace qk::cli
