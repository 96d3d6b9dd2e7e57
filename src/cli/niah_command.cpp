// `qkrestore niah`: RULER-compatible needle-in-a-haystack evaluation (generate, run, score, report).
#include <algorithm>

#include "cli/niah_subcommands.hpp"

namespace qk::cli {

std::vector<Command>& niah_registry() {
  static std::vector<Command> registry;
  return registry;
}

const RegisterCommand kNiah({
    "niah",
    "RULER-compatible needle-in-a-haystack evaluation: generate, run, score, report",
    60,
    [](CLI::App& niah) -> Action {
      niah.require_subcommand(1);
      auto& verbs = niah_registry();
      std::sort(verbs.begin(), verbs.end(), [](const Command& a, const Command& b) { return a.order < b.order; });
      auto actions = std::make_shared<std::vector<std::pair<CLI::App*, Action>>>();
      for (auto& verb : verbs) {
        CLI::App* app = niah.add_subcommand(verb.name, verb.description);
        actions->emplace_back(app, verb.setup(*app));
      }
      return [actions]() {
        for (auto& [app, action] : *actions)
          if (app->parsed()) return action();
        return kExitUsage;
      };
    },
});

}  // namespace qk::cli
