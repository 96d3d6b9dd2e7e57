#include "surgery/output.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <fmt/format.h>

#include "io/background_copy.hpp"
#include "io/file_ops.hpp"
#include "io/staging_dir.hpp"
#include "surgery/provenance.hpp"
#include "surgery/shard_layout.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/progress.hpp"
#include "util/sha256.hpp"

namespace qk {

namespace fs = std::filesystem;

namespace {

bool is_within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin(), o = outer.begin();
  for (; o != outer.end(); ++o, ++i)
    if (i == inner.end() || *i != *o) return false;
  return true;
}

// Where each output tensor's bytes land: which output file, at which absolute offset.
struct Placement {
  std::size_t file = 0;
  std::uint64_t offset = 0;
};

void progress_hook(std::uint64_t bytes, void* context) { static_cast<Progress*>(context)->add(bytes); }

struct HookGuard {
  explicit HookGuard(Progress* progress) { set_copy_progress_hook(progress_hook, progress); }
  ~HookGuard() { set_copy_progress_hook(nullptr, nullptr); }
};

// Creates the output shards in `dir`. A shard kept as it is starts as a clone of SFT's where the
// filesystem shares blocks (reflink: nothing copied); every other shard gets its size, and the copies of
// SFT's bytes it needs are returned, to run beside the writes of the planned tensors.
std::vector<CopyRange> create_shards(const std::vector<ShardLayout>& layout, const std::set<std::string>& planned, const fs::path& dir,
                                     Durability durability, Progress& progress, std::vector<std::unique_ptr<OutputFile>>& files) {
  std::vector<CopyRange> copies;
  for (const auto& shard : layout) {
    auto& file = *files.emplace_back(std::make_unique<OutputFile>(dir / shard.name, durability));
    if (shard.copy_of && file.clone_from(shard.copy_of->file().fd(), shard.size)) {
      std::uint64_t planned_bytes = 0;
      for (const auto& t : shard.tensors) planned_bytes += planned.count(t.info->name) ? t.info->byte_size() : 0;
      progress.add(shard.size - planned_bytes);
      continue;
    }
    file.resize(shard.size);
    if (!shard.head.empty()) file.write_at(0, std::as_bytes(std::span(shard.head.data(), shard.head.size())));
    for (auto& range : kept_ranges(shard, file, planned)) copies.push_back(std::move(range));
  }
  return copies;
}

// Writes the planned tensors, one layer at a time (memory: one layer's Q/K tensors), and returns their
// SHA-256. A tensor the method takes unchanged from an input is copied from that file through a small
// buffer and hashed on the way; the others are computed. Stops early if `copier` has failed.
std::vector<RestoredTensor> write_planned(const Checkpoint& base, const Checkpoint& sft, const SurgeryPlan& plan, const SurgeryMethod& method,
                                          const std::map<std::string, Placement>& placement,
                                          const std::vector<std::unique_ptr<OutputFile>>& files, BackgroundCopy& copier) {
  std::vector<RestoredTensor> restored;
  for (const auto& group : layer_groups(plan)) {
    std::vector<TensorPair> pairs;
    for (const auto* t : group) pairs.push_back({t, base.at(t->name), sft.at(t->name)});
    const bool verbatim = std::all_of(pairs.begin(), pairs.end(), [&](const TensorPair& p) { return method.verbatim_source(p) != nullptr; });
    if (verbatim) {
      for (const auto& pair : pairs) {
        const TensorRef& source = *method.verbatim_source(pair);
        const Placement& where = placement.at(pair.plan->name);
        Sha256 hash;
        files[where.file]->copy_in_hashed(where.offset, source.file->file().fd(), source.file->data_start() + source.info->begin,
                                          source.info->byte_size(), source.file->path().string(), hash);
        restored.push_back({pair.plan->name, hash.hex_digest()});
      }
    } else {
      auto outputs = method.compute_layer(pairs, plan);
      for (std::size_t k = 0; k < pairs.size(); ++k) {
        const Placement& where = placement.at(pairs[k].plan->name);
        files[where.file]->write_at(where.offset, outputs[k]);
        restored.push_back({pairs[k].plan->name, sha256_hex(outputs[k])});
        // Unmap the pages of the inputs we read: on a large model, every layer's Q/K bytes would
        // otherwise stay resident and RSS would grow with the number of layers.
        for (const TensorRef& ref : {pairs[k].base, pairs[k].sft})
          ref.file->file().release(ref.file->data_start() + ref.info->begin, ref.info->byte_size());
      }
    }
    throw_if_interrupted();
    copier.rethrow_if_failed();
  }
  return restored;
}

}  // namespace

void check_output_location(const fs::path& out, const fs::path& base, const fs::path& sft) {
  const fs::path o = fs::weakly_canonical(fs::absolute(out));
  for (const auto& [label, input] : {std::pair{"BASE", base}, std::pair{"SFT", sft}}) {
    const fs::path in = fs::weakly_canonical(fs::absolute(input));
    if (is_within(o, in)) fail(ErrorKind::Usage, "OUT ({}) lies inside {} ({}); inputs are never written to", o.string(), label, in.string());
    if (is_within(in, o)) fail(ErrorKind::Usage, "{} ({}) lies inside OUT ({}); replacing OUT would destroy it", label, in.string(), o.string());
  }
}

std::vector<std::vector<const PlannedTensor*>> layer_groups(const SurgeryPlan& plan) {
  std::map<int, std::vector<const PlannedTensor*>> by_layer;
  std::vector<std::vector<const PlannedTensor*>> groups;
  for (const auto& t : plan.tensors) {
    if (t.layer < 0) groups.push_back({&t});
    else by_layer[t.layer].push_back(&t);
  }
  for (auto& [layer, tensors] : by_layer) groups.push_back(std::move(tensors));
  return groups;
}

std::uint64_t parse_byte_size(const std::string& text) {
  const std::size_t pos = std::min(text.find_first_not_of("0123456789.eE+-"), text.size());
  const double number = parse_number(std::string_view(text).substr(0, pos), fmt::format("'{}' is not a size (examples: 5GB, 500MB, 2GiB)", text),
                                     ErrorKind::Usage);
  std::string unit = text.substr(pos);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::map<std::string, double> kUnits = {{"", 1},       {"B", 1},         {"KB", 1e3},        {"MB", 1e6},
                                                       {"GB", 1e9},   {"TB", 1e12},     {"KIB", 1024.0},    {"MIB", 1048576.0},
                                                       {"GIB", 1073741824.0}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end() || number <= 0) fail(ErrorKind::Usage, "'{}' is not a size (examples: 5GB, 500MB, 2GiB)", text);
  return static_cast<std::uint64_t>(number * it->second);
}

OutputSummary write_output(const Checkpoint& base, const Checkpoint& sft, const SurgeryPlan& plan, const SurgeryMethod& method,
                           const OutputOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  check_output_location(options.out, base.dir(), sft.dir());
  const Durability durability = qk::durability(options);
  StagingDir staging(options.out, options.overwrite, durability);
  OutputSummary summary;

  const std::vector<ShardLayout> layout = lay_out_shards(sft, options.max_shard_size);
  std::uint64_t total = 0;
  for (const auto& shard : sft.shards()) total += shard->file_size();
  Progress progress(fmt::format("{} -> {}", method.name(), options.out.filename().string()), total, ProgressUnit::Bytes, options.quiet);
  HookGuard hook(&progress);

  // 1. The shards, with SFT's bytes outside the plan shared (reflink) or copied by the kernel on a
  //    thread of its own while 2. writes the planned tensors: the copy and the hashing take two cores.
  std::set<std::string> planned;
  for (const auto& t : plan.tensors) planned.insert(t.name);
  std::map<std::string, Placement> placement;
  nlohmann::json weight_map = nlohmann::json::object();
  for (std::size_t i = 0; i < layout.size(); ++i) {
    for (std::size_t k = 0; k < layout[i].tensors.size(); ++k) {
      placement[layout[i].tensors[k].info->name] = {i, layout[i].offsets[k]};
      weight_map[layout[i].tensors[k].info->name] = layout[i].name;
    }
    summary.shards.push_back(layout[i].name);
  }
  std::vector<std::unique_ptr<OutputFile>> files;
  BackgroundCopy copier(create_shards(layout, planned, staging.path(), durability, progress, files));
  // 2. The planned tensors.
  summary.restored = write_planned(base, sft, plan, method, placement, files, copier);
  copier.finish();
  for (auto& file : files) {
    summary.bytes_written += file->size();
    file->close();
  }

  // 3. The index, when sharded: SFT's metadata with the total size of the tensors.
  if (layout.size() > 1 || sft.sharded()) {
    nlohmann::json index;
    index["metadata"] = sft.sharded() && sft.index().contains("metadata") ? sft.index()["metadata"] : nlohmann::json::object();
    index["metadata"]["total_size"] = sft.total_tensor_bytes();
    index["weight_map"] = weight_map;
    write_text_file(staging.path() / "model.safetensors.index.json", index.dump(2) + "\n", durability);
  }

  // 4. Every other file of SFT (config, tokenizer, templates, code), and the provenance.
  std::set<fs::path> skip;
  for (const auto& shard : sft.shards()) skip.insert(shard->path().filename());
  skip.insert("model.safetensors.index.json");
  skip.insert("README.md");
  skip.insert(kProvenanceFile);
  for (auto it = fs::recursive_directory_iterator(sft.dir()); it != fs::recursive_directory_iterator(); ++it) {
    const fs::path relative = fs::relative(it->path(), sft.dir());
    if (relative.filename().string().front() == '.' && it->is_directory()) {  // .git, .cache: not part of the model
      it.disable_recursion_pending();
      continue;
    }
    if (it.depth() == 0 && skip.count(relative)) continue;
    if (it->is_directory()) fs::create_directories(staging.path() / relative);
    else if (it->is_regular_file()) copy_file_contents(it->path(), staging.path() / relative, durability);
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_provenance(staging.path(), base, sft, plan, method, options, summary);
  progress.finish();
  // The inputs are mapped, not copied: a shard rewritten during the run may have given us bytes of
  // two versions. Refuse to install such an output rather than mix them silently.
  base.check_unchanged();
  sft.check_unchanged();
  staging.commit();
  return summary;
}

}  // namespace qk
