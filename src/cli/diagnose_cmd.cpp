// qkrestore diagnose: where SFT moved the attention routing, per layer and head (docs/diagnose.md).
#include <filesystem>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/surgery_args.hpp"
#include "diagnose/diagnose.hpp"
#include "io/file_ops.hpp"
#include "util/progress.hpp"

namespace qk::cli {
namespace {

struct DiagnoseArgs {
  PairArgs pair;
  std::string out;
  bool json = false, quiet = false;
};

}  // namespace

Action setup_diagnose(CLI::App& sub) {
  auto args = std::make_shared<DiagnoseArgs>();
  args->pair.bind(sub);
  sub.add_option("--out", args->out, "directory for report.json and report.html (created if missing)");
  sub.add_flag("--json", args->json, "print the JSON report instead of the summary");
  sub.add_flag("--quiet,-q", args->quiet, "no progress on stderr");
  return [args]() {
    install_interrupt_handlers();
    const FamilyTable table = args->pair.family_table();
    const Checkpoint base(args->pair.base), sft(args->pair.sft);
    const diagnose::Report report = diagnose::diagnose(base, sft, table, args->quiet);
    if (args->json) fmt::print("{}\n", diagnose::to_json(report).dump(2));
    else fmt::print("{}", diagnose::to_text(report));
    if (!args->out.empty()) {
      std::filesystem::create_directories(args->out);
      write_text_file(std::filesystem::path(args->out) / "report.json", diagnose::to_json(report).dump(2) + "\n");
      write_text_file(std::filesystem::path(args->out) / "report.html", diagnose::to_html(report));
      if (!args->quiet) fmt::print(stderr, "wrote {0}/report.json and {0}/report.html\n", args->out);
    }
    return kExitOk;
  };
}

}  // namespace qk::cli
