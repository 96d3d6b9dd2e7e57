// qkrestore: the command-line front. Parsing only; every command's work lives in a library.
#include <algorithm>
#include <cstdio>
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/surgery_args.hpp"
#include "util/error.hpp"

namespace qk::cli {
std::vector<Command>& command_registry() {
  static std::vector<Command> registry;
  return registry;
}
}  // namespace qk::cli

int main(int argc, char** argv) {
  using namespace qk::cli;
  remember_command_line(argc, argv);
  CLI::App app{"qkrestore: repair the long-context recall of hybrid LLMs after CoT fine-tuning"};
  app.set_version_flag("--version", std::string("qkrestore ") + QK_VERSION);
  app.require_subcommand(1);

  auto& registry = command_registry();
  std::sort(registry.begin(), registry.end(), [](const Command& a, const Command& b) { return a.order < b.order; });
  std::vector<std::pair<CLI::App*, Action>> actions;
  for (auto& command : registry) {
    CLI::App* sub = app.add_subcommand(command.name, command.description);
    actions.emplace_back(sub, command.setup(*sub));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  try {
    for (auto& [sub, action] : actions)
      if (sub->parsed()) return action();
  } catch (const qk::Error& e) {
    fmt::print(stderr, "qkrestore: error: {}\n", e.what());
    if (e.kind() == qk::ErrorKind::Usage) return kExitUsage;
    if (e.kind() == qk::ErrorKind::Verify) return kExitMismatch;
    return kExitError;
  } catch (const std::exception& e) {
    fmt::print(stderr, "qkrestore: internal error: {}\n", e.what());
    return kExitError;
  }
  return kExitOk;
}
