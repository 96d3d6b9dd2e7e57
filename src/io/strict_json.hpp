// JSON parsing that refuses duplicate keys. nlohmann (like Python's json) silently keeps the last
// of two equal keys; in a checkpoint's header, index or config that hides which value is meant
// (two dtypes for a tensor, two shards for a name, two model_types), so we reject it instead.
#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace qk {

// Throws Error(Format) "LABEL is not valid JSON: ..." or "LABEL: key 'K' appears twice in OBJECT".
nlohmann::json parse_json_without_duplicates(std::string_view text, const std::string& label);

}  // namespace qk
