#include "surgery/blend_method.hpp"
#include "surgery/method.hpp"
#include "surgery/procrustes_method.hpp"
#include "surgery/ridge_method.hpp"
#include "util/error.hpp"

namespace qk {

std::unique_ptr<SurgeryMethod> method_from_provenance(const std::string& name, const nlohmann::json& options) {
  if (name == "restore") return std::make_unique<RestoreMethod>();
  if (name == "procrustes")
    return std::make_unique<ProcrustesMethod>(options.value("alpha", 1.0), parse_granularity(options.value("granularity", "group")));
  if (name == "ridge") return std::make_unique<RidgeMethod>(options.value("lambda", 0.0));
  if (name == "blend") return std::make_unique<BlendMethod>(BlendMethod::from_options(options));
  fail(ErrorKind::Unsupported, "qkrestore.json names method '{}', which this version cannot recompute", name);
}

}  // namespace qk
