#include "surgery/provenance.hpp"

#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/file_ops.hpp"

namespace qk {

namespace fs = std::filesystem;

#ifndef QK_VERSION
#define QK_VERSION "0.1.0"
#endif
const char* tool_version() { return QK_VERSION; }

namespace {

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

nlohmann::json describe_input(const Checkpoint& ckpt) {
  nlohmann::json shards = nlohmann::json::array();
  for (const auto& s : ckpt.shards()) shards.push_back({{"file", s->path().filename().string()}, {"bytes", s->file_size()}});
  return {{"path", fs::absolute(ckpt.dir()).lexically_normal().string()},
          {"model_type", ckpt.config().value("model_type", "")},
          {"shards", shards}};
}

}  // namespace

std::string model_card_section(const SurgeryPlan& plan, const SurgeryMethod& method, const OutputOptions& options) {
  const nlohmann::json method_options = RepairSpec{method.spec(), options.selection}.method_options_json();
  std::string layers;
  for (int l : plan.selected_layers) {
    layers += (layers.empty() ? "" : ", ") + std::to_string(l);
    if (const LayerHeads* selected = plan.heads_of(l))
      layers += fmt::format(" (KV groups [{}], query heads [{}])", fmt::join(selected->kv_groups, ","), fmt::join(selected->query_heads, ","));
  }
  std::string text = fmt::format(
      "\n\n## Attention routing restored with qkrestore\n\n"
      "This checkpoint is the fine-tuned (SFT) model with the query/key projections of its global attention layers "
      "taken from the base model (method: `{}`{}), to recover long-context recall lost in chain-of-thought fine-tuning "
      "(QK-Restore, Zhou et al. 2026). Every other tensor is the SFT model's, byte for byte.\n\n"
      "- model_type: `{}`; layers changed: {} ({} tensors)\n"
      "- command: `{}`\n"
      "- qkrestore {}; per-tensor sources and SHA-256 digests are in `qkrestore.json`; "
      "`qkrestore verify --base BASE --sft SFT --out THIS_DIR` re-checks every byte.\n",
      method.name(), method_options.empty() ? "" : ", options " + method_options.dump(), plan.model_type,
      layers.empty() ? "none" : layers, plan.tensors.size(), options.command_line, tool_version());
  for (const auto& note : plan.notes) text += "- note: " + note + "\n";
  return text;
}

void write_provenance(const fs::path& dir, const Checkpoint& base, const Checkpoint& sft, const SurgeryPlan& plan,
                      const SurgeryMethod& method, const OutputOptions& options, const OutputSummary& summary) {
  nlohmann::json restored = nlohmann::json::object();
  for (const auto& r : summary.restored) {
    const PlannedTensor* t = plan.find(r.name);
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& range : t->rows) rows.push_back({range.begin, range.end});
    restored[r.name] = {{"source", method.name() == "restore" ? "base" : method.name()},
                        {"role", t->role},
                        {"layer", t->layer},
                        {"rows", t->whole() ? nlohmann::json("all") : rows},
                        {"other_rows", t->whole() ? "none" : "sft"},
                        {"sha256", r.sha256}};
  }
  nlohmann::json tensors = nlohmann::json::object();
  for (const auto& name : sft.tensor_names()) tensors[name] = restored.contains(name) ? restored[name] : nlohmann::json{{"source", "sft"}};

  nlohmann::json doc;
  doc["tool"] = "qkrestore";
  doc["version"] = tool_version();
  doc["created"] = utc_now();
  doc["command"] = options.command_line;
  // What the output is: the repair, through its one codec (`verify` reads it back with RepairSpec::from_json).
  const nlohmann::json repair = RepairSpec{method.spec(), options.selection}.to_json();
  for (const auto& [key, value] : repair.items()) doc[key] = value;
  doc["max_shard_size"] = options.max_shard_size ? nlohmann::json(*options.max_shard_size) : nlohmann::json(nullptr);
  doc["base"] = describe_input(base);
  doc["sft"] = describe_input(sft);
  doc["plan"] = plan.to_json();
  doc["shards"] = summary.shards;
  doc["tensors"] = tensors;
  write_text_file(dir / kProvenanceFile, doc.dump(2) + "\n", durability(options));

  std::string card;
  if (fs::exists(sft.dir() / "README.md")) {
    std::ifstream in(sft.dir() / "README.md", std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    card = buffer.str();
  }
  write_text_file(dir / "README.md", card + model_card_section(plan, method, options), durability(options));
}

}  // namespace qk
