// The options of the commands that measure candidates by the product itself (`sweep`, `locate`): the
// samples, how answers are asked for, and where the candidates run (the embedded engine, or the user's
// server started per candidate with --serve-cmd).
#pragma once
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "sweep/candidate_backends.hpp"
#include "sweep/measure.hpp"

namespace qk::cli {

struct MeasureArgs {
  std::string niah, reasoning, format = "auto", serve_cmd;
  double serve_timeout = 600;
  sweep::AskOptions ask;

  // reasoning_required: whether --reasoning must be given (sweep) or may be left out (locate: recall only).
  void bind(CLI::App& app, bool reasoning_required);
  // ask, with the problem format parsed and SFT's chat template for the reasoning prompts.
  sweep::AskOptions ask_options(const std::string& sft) const;
  // The embedded engine (embedded: its options), or the server of --serve-cmd (scratch checkpoints under out).
  // `table` plans the candidates (the pair's --arch-file table).
  std::unique_ptr<sweep::CandidateBackends> backends(const std::string& base, const std::string& sft, const std::string& out,
                                                     const FamilyTable& table, sweep::EmbeddedOptions embedded = {}) const;
};

}  // namespace qk::cli
