// Every subcommand is a setup_<name> that binds its options to `sub` and returns the action to run when
// the user picked it, in <name>_cmd.cpp (plan and verify beside restore, niah's verbs in niah_cmd.cpp);
// main.cpp lists them in one table, in --help order.
#pragma once
#include <functional>
#include <span>

#include <CLI/CLI.hpp>

namespace qk::cli {

using Action = std::function<int()>;  // returns the process exit status

struct Command {
  const char* name;
  const char* description;
  Action (*setup)(CLI::App& sub);
};

// Adds each command as a subcommand of `app`; the returned action runs the one the user picked.
Action add_commands(CLI::App& app, std::span<const Command> commands);

Action setup_plan(CLI::App& sub);
Action setup_restore(CLI::App& sub);
Action setup_procrustes(CLI::App& sub);
Action setup_ridge(CLI::App& sub);
Action setup_blend(CLI::App& sub);
Action setup_diagnose(CLI::App& sub);
Action setup_heads(CLI::App& sub);
Action setup_verify(CLI::App& sub);
Action setup_niah(CLI::App& sub);
Action setup_eval(CLI::App& sub);
Action setup_report(CLI::App& sub);
Action setup_sweep(CLI::App& sub);
Action setup_locate(CLI::App& sub);
Action setup_serve(CLI::App& sub);
Action setup_generate(CLI::App& sub);
Action setup_niah_generate(CLI::App& sub);
Action setup_niah_run(CLI::App& sub);
Action setup_niah_score(CLI::App& sub);
Action setup_niah_report(CLI::App& sub);

// Exit statuses, documented in the README.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;     // any qk::Error but the two below
inline constexpr int kExitUsage = 2;     // bad options
inline constexpr int kExitMismatch = 3;  // verify found a difference

}  // namespace qk::cli
