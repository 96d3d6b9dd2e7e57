#include "surgery/blend_method.hpp"
#include "surgery/method.hpp"
#include "surgery/procrustes_method.hpp"
#include "surgery/ridge_method.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace qk {

std::unique_ptr<SurgeryMethod> method_from_provenance(const std::string& name, const nlohmann::json& options, const std::string& where) {
  if (!options.is_object()) fail(ErrorKind::Format, "{}: method_options must be an object", where);
  const std::string field = where + ": method_options";
  if (name == "restore") return std::make_unique<RestoreMethod>();
  if (name == "procrustes")
    return std::make_unique<ProcrustesMethod>(number_field(options, "alpha", field, 1.0),
                                              parse_granularity(optional_string_field(options, "granularity", field).value_or("group")));
  if (name == "ridge") return std::make_unique<RidgeMethod>(number_field(options, "lambda", field, 0.0));
  if (name == "blend") return std::make_unique<BlendMethod>(BlendMethod::from_options(options, field));
  fail(ErrorKind::Unsupported, "{} names method '{}', which this version cannot recompute", where, name);
}

}  // namespace qk
