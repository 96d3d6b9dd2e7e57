#include "surgery/verify.hpp"

#include <cstring>
#include <map>

#include <fmt/format.h>

#include "surgery/method.hpp"
#include "surgery/output.hpp"
#include "surgery/provenance.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/files.hpp"
#include "util/progress.hpp"
#include "util/sha256.hpp"

namespace qk {

namespace fs = std::filesystem;

namespace {

// What qkrestore.json recorded; every field checked, naming the file and the field.
struct Provenance {
  RepairSpec spec;
  std::map<std::string, std::string> sha256;  // tensor -> recorded digest
};

Provenance read_provenance(const fs::path& path) {
  const std::string where = path.string();
  const nlohmann::json j = read_json_file(path);
  Provenance p{RepairSpec::from_json(j, where), {}};
  if (j.contains("tensors"))
    for (const auto& [name, entry] : object_field(j, "tensors", where).items())
      if (auto digest = optional_string_field(entry, "sha256", fmt::format("{}: tensors.{}", where, name))) p.sha256[name] = *digest;
  return p;
}

// Offset of the first differing byte, or -1.
std::int64_t first_difference(std::span<const std::byte> a, std::span<const std::byte> b) {
  if (a.size() != b.size()) return 0;
  if (std::memcmp(a.data(), b.data(), a.size()) == 0) return -1;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return static_cast<std::int64_t>(i);
  return -1;
}

}  // namespace

VerifyReport verify_output(const Checkpoint& base, const Checkpoint& sft, const fs::path& out_dir, const FamilyTable& table, bool quiet) {
  VerifyReport report;
  const fs::path provenance_path = out_dir / kProvenanceFile;
  if (!fs::exists(provenance_path))
    fail(ErrorKind::Format, "{} has no {}: it was not written by qkrestore, so there is nothing to verify against", out_dir.string(),
         kProvenanceFile);
  const Provenance provenance = read_provenance(provenance_path);
  const auto method = provenance.spec.make_method();
  const Checkpoint out(out_dir);
  const SurgeryPlan plan = make_plan(base, sft, provenance.spec.selection, table);
  auto problem = [&](std::string text) { report.problems.push_back(std::move(text)); };

  // The same tensor set, shapes and dtypes as SFT.
  for (const auto& name : sft.tensor_names())
    if (!out.has(name)) problem(fmt::format("tensor '{}' of SFT is missing from the output", name));
  for (const auto& name : out.tensor_names()) {
    TensorRef o = out.at(name);
    TensorRef s = sft.find(name);
    if (!s.file) {
      problem(fmt::format("tensor '{}' is in the output but not in SFT", name));
      continue;
    }
    if (o.info->dtype != s.info->dtype || o.info->shape != s.info->shape)
      problem(fmt::format("tensor '{}' is {} {} in the output but {} {} in SFT", name, dtype_name(o.info->dtype),
                          nlohmann::json(o.info->shape).dump(), dtype_name(s.info->dtype), nlohmann::json(s.info->shape).dump()));
  }
  if (!report.problems.empty()) return report;

  Progress progress("verify", out.total_tensor_bytes(), ProgressUnit::Bytes, quiet);
  // Tensors the method computed: recompute, compare, and check the recorded digest.
  for (const auto& group : layer_groups(plan)) {
    std::vector<TensorPair> pairs;
    for (const auto* t : group) pairs.push_back({t, base.at(t->name), sft.at(t->name)});
    auto expected = method->compute_layer(pairs, plan);
    for (std::size_t k = 0; k < pairs.size(); ++k) {
      const std::string& name = pairs[k].plan->name;
      auto actual = out.at(name).data();
      if (auto at = first_difference(actual, expected[k]); at >= 0)
        problem(fmt::format("tensor '{}' ({}) differs from the recomputed {} result at byte {}", name, pairs[k].plan->role, method->name(), at));
      const std::string digest = sha256_hex(actual);
      if (auto recorded = provenance.sha256.find(name); recorded != provenance.sha256.end() && recorded->second != digest)
        problem(fmt::format("tensor '{}': SHA-256 {} does not match {} recorded in {}", name, digest, recorded->second, kProvenanceFile));
      ++report.method_tensors_checked;
      report.bytes_compared += actual.size();
      progress.add(actual.size());
      for (const TensorRef& ref : {pairs[k].base, pairs[k].sft, out.at(name)})
        ref.file->file().release(ref.file->data_start() + ref.info->begin, ref.info->byte_size());
    }
  }
  // Every other tensor: SFT's bytes exactly.
  for (const auto& name : out.tensor_names()) {
    if (plan.find(name)) continue;
    TensorRef o = out.at(name), s = sft.at(name);
    if (auto at = first_difference(o.data(), s.data()); at >= 0)
      problem(fmt::format("tensor '{}' should be SFT's bytes but differs at byte {}", name, at));
    o.file->file().release(o.file->data_start() + o.info->begin, o.info->byte_size());
    s.file->file().release(s.file->data_start() + s.info->begin, s.info->byte_size());
    report.bytes_compared += o.info->byte_size();
    progress.add(o.info->byte_size());
  }
  report.tensors_checked = out.tensor_names().size();

  // The other files: SFT's, except the model card (SFT's card plus our section) and our own files.
  for (auto it = fs::recursive_directory_iterator(sft.dir()); it != fs::recursive_directory_iterator(); ++it) {
    const fs::path relative = fs::relative(it->path(), sft.dir());
    if (relative.filename().string().front() == '.' && it->is_directory()) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || relative.extension() == ".safetensors" || relative == "model.safetensors.index.json" ||
        relative == kProvenanceFile)
      continue;
    const fs::path copy = out_dir / relative;
    if (!fs::exists(copy)) {
      problem(fmt::format("file '{}' of SFT is missing from the output", relative.string()));
      continue;
    }
    const std::string want = read_text_file(it->path()), have = read_text_file(copy);
    if (relative == "README.md" ? have.rfind(want, 0) != 0 : have != want)
      problem(fmt::format("file '{}' differs from SFT's", relative.string()));
    ++report.files_checked;
  }
  progress.finish();
  return report;
}

}  // namespace qk
