// qkrestore verify: every output tensor against its expected source, byte for byte.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/surgery_args.hpp"
#include "surgery/verify.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace qk::cli {
namespace {

struct VerifyArgs {
  PairArgs pair;
  std::string out;
  bool quiet = false;
};

}  // namespace

Action setup_verify(CLI::App& sub) {
  auto args = std::make_shared<VerifyArgs>();
  args->pair.bind(sub, false);
  sub.add_option("--out", args->out, "the output directory to check")->required()->check(CLI::ExistingDirectory);
  sub.add_flag("--quiet,-q", args->quiet, "no progress on stderr");
  return [args]() {
    install_interrupt_handlers();
    const Checkpoint base(args->pair.base), sft(args->pair.sft);
    auto report = verify_output(base, sft, args->out, args->pair.family_table(), args->quiet);
    for (const auto& p : report.problems) fmt::print(stderr, "MISMATCH: {}\n", p);
    if (!report.problems.empty())
      throw Error(ErrorKind::Verify, fmt::format("{}: {} problem(s) found", args->out, report.problems.size()));
    fmt::print("OK: {} tensors ({} computed by the method) and {} other files match; {} compared\n", report.tensors_checked,
               report.method_tensors_checked, report.files_checked, human_bytes(report.bytes_compared));
    return kExitOk;
  };
}

}  // namespace qk::cli
