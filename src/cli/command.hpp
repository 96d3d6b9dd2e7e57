// Each subcommand lives in its own file and registers itself here at static-initialisation time,
// so adding a command never edits main.cpp. A command binds its options to `sub` and returns the
// action to run when the user picked it.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace qk::cli {

using Action = std::function<int()>;  // returns the process exit status

struct Command {
  std::string name;
  std::string description;
  int order;  // position in --help
  std::function<Action(CLI::App& sub)> setup;
};

std::vector<Command>& command_registry();

struct RegisterCommand {
  explicit RegisterCommand(Command command) { command_registry().push_back(std::move(command)); }
};

// Exit statuses, documented in the README.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;     // any qk::Error but the two below
inline constexpr int kExitUsage = 2;     // bad options
inline constexpr int kExitMismatch = 3;  // verify found a difference

}  // namespace qk::cli
