// `qkrestore niah <verb>`: each verb lives in its own niah_<verb>.cpp and registers itself here, the
// way top-level commands register in command.hpp.
#pragma once
#include <vector>

#include "cli/command.hpp"

namespace qk::cli {

std::vector<Command>& niah_registry();

struct RegisterNiahCommand {
  explicit RegisterNiahCommand(Command command) { niah_registry().push_back(std::move(command)); }
};

}  // namespace qk::cli
