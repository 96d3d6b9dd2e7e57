#include "surgery/method.hpp"
#include "util/error.hpp"

namespace qk {

std::unique_ptr<SurgeryMethod> method_from_provenance(const std::string& name, const nlohmann::json& options) {
  if (name == "restore") return std::make_unique<RestoreMethod>();
  fail(ErrorKind::Unsupported, "qkrestore.json names method '{}', which this version cannot recompute", name);
}

}  // namespace qk
