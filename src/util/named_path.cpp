#include "util/named_path.hpp"

#include "util/error.hpp"

namespace qk {

NamedPath parse_named_path(std::string_view spec, std::string_view option, std::string_view placeholder,
                           std::string_view what) {
  const auto eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == spec.size())
    fail(ErrorKind::Usage, "{} '{}' must be NAME={} ({})", option, spec, placeholder, what);
  return {std::string(spec.substr(0, eq)), std::filesystem::path(spec.substr(eq + 1))};
}

}  // namespace qk
