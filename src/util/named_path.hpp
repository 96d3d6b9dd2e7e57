// `NAME=PATH` command-line values (`report --run`, `niah report --run`, `eval score --compare`): one
// parser, so every option that names a run spells and refuses it the same way.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

namespace qk {

struct NamedPath {
  std::string name;
  std::filesystem::path path;
};

// Splits `spec` at its first '='. Throws Error(Usage) "OPTION 'SPEC' must be NAME=PLACEHOLDER (WHAT)" when
// there is no '=' or the name or the path is empty, e.g. ("--run", "DIR", "a folder written by `niah score`").
NamedPath parse_named_path(std::string_view spec, std::string_view option, std::string_view placeholder,
                           std::string_view what);

}  // namespace qk
