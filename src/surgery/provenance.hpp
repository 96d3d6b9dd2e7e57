// Provenance of an output: qkrestore.json (tool version, method, options, per-tensor source,
// SHA-256 of every tensor the method wrote) and SFT's model card with a section saying what changed.
#pragma once
#include <filesystem>

#include <nlohmann/json.hpp>

#include "surgery/output.hpp"

namespace qk {

inline constexpr const char* kProvenanceFile = "qkrestore.json";
const char* tool_version();

void write_provenance(const std::filesystem::path& dir, const Checkpoint& base, const Checkpoint& sft, const SurgeryPlan& plan,
                      const SurgeryMethod& method, const OutputOptions& options, const OutputSummary& summary);

// The section appended to the model card.
std::string model_card_section(const SurgeryPlan& plan, const SurgeryMethod& method, const OutputOptions& options);

}  // namespace qk
