#include "surgery/output.hpp"

#include <chrono>
#include <map>

#include <fmt/format.h>

#include "io/file_ops.hpp"
#include "io/staging_dir.hpp"
#include "surgery/provenance.hpp"
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

// Where each output tensor's bytes landed: which output file, at which absolute offset.
struct Placement {
  std::size_t file = 0;
  std::uint64_t offset = 0;
};

struct ShardLayout {
  std::string name;
  std::vector<TensorRef> tensors;
};

std::vector<ShardLayout> reshard(const Checkpoint& sft, std::uint64_t max_shard_size) {
  std::vector<ShardLayout> shards;
  std::uint64_t current = 0;
  for (const auto& shard : sft.shards()) {
    for (const auto& info : shard->tensors()) {
      if (shards.empty() || (current + info.byte_size() > max_shard_size && !shards.back().tensors.empty())) {
        shards.push_back({});
        current = 0;
      }
      shards.back().tensors.push_back({shard.get(), &info});
      current += info.byte_size();
    }
  }
  for (std::size_t i = 0; i < shards.size(); ++i)
    shards[i].name = shards.size() == 1 ? "model.safetensors"
                                        : fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
  return shards;
}

void progress_hook(std::uint64_t bytes, void* context) { static_cast<Progress*>(context)->add(bytes); }

struct HookGuard {
  explicit HookGuard(Progress* progress) { set_copy_progress_hook(progress_hook, progress); }
  ~HookGuard() { set_copy_progress_hook(nullptr, nullptr); }
};

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
  StagingDir staging(options.out, options.overwrite);
  OutputSummary summary;
  const Durability durability = qk::durability(options);

  std::vector<ShardLayout> layout;
  if (options.max_shard_size) {
    layout = reshard(sft, *options.max_shard_size);
  } else {
    for (const auto& shard : sft.shards()) {
      ShardLayout s{shard->path().filename().string(), {}};
      for (const auto& info : shard->tensors()) s.tensors.push_back({shard.get(), &info});
      layout.push_back(std::move(s));
    }
  }
  std::uint64_t total = 0;
  for (const auto& shard : sft.shards()) total += shard->file_size();
  Progress progress(fmt::format("{} -> {}", method.name(), options.out.filename().string()), total, ProgressUnit::Bytes, options.quiet);
  HookGuard hook(&progress);

  // 1. Lay out every shard with SFT's bytes: whole files when the sharding is kept (no decoding,
  //    the kernel copies), or a new header and per-tensor copies when resharding.
  std::vector<std::unique_ptr<OutputFile>> files;
  std::map<std::string, Placement> placement;
  nlohmann::json weight_map = nlohmann::json::object();
  for (std::size_t i = 0; i < layout.size(); ++i) {
    const auto& shard = layout[i];
    auto file = std::make_unique<OutputFile>(staging.path() / shard.name, durability);
    if (!options.max_shard_size) {
      const SafetensorsFile& source = *shard.tensors.front().file;
      file->append_copy(source.file().fd(), 0, source.file_size(), source.path().string());
      for (const auto& t : shard.tensors) placement[t.info->name] = {i, source.data_start() + t.info->begin};
    } else {
      std::vector<TensorInfo> infos;
      std::uint64_t cursor = 0;
      for (const auto& t : shard.tensors) {
        TensorInfo info = *t.info;
        info.begin = cursor;
        info.end = cursor + t.info->byte_size();
        cursor = info.end;
        infos.push_back(info);
      }
      const std::string header = serialize_safetensors_header(infos, sft.shards().front()->metadata());
      std::byte length[8];
      for (int b = 0; b < 8; ++b) length[b] = static_cast<std::byte>((header.size() >> (8 * b)) & 0xff);
      file->append(length);
      file->append(std::as_bytes(std::span(header.data(), header.size())));
      const std::uint64_t data_start = 8 + header.size();
      for (std::size_t k = 0; k < shard.tensors.size(); ++k) {
        const auto& t = shard.tensors[k];
        file->append_copy(t.file->file().fd(), t.file->data_start() + t.info->begin, t.info->byte_size(), t.file->path().string());
        placement[t.info->name] = {i, data_start + infos[k].begin};
      }
    }
    for (const auto& t : shard.tensors) weight_map[t.info->name] = shard.name;
    summary.shards.push_back(shard.name);
    files.push_back(std::move(file));
  }

  // 2. Patch the planned tensors in place, one layer at a time (memory: one layer's Q/K tensors).
  for (const auto& group : layer_groups(plan)) {
    std::vector<TensorPair> pairs;
    for (const auto* t : group) pairs.push_back({t, base.at(t->name), sft.at(t->name)});
    auto outputs = method.compute_layer(pairs, plan);
    for (std::size_t k = 0; k < pairs.size(); ++k) {
      const auto& where = placement.at(pairs[k].plan->name);
      files[where.file]->write_at(where.offset, outputs[k]);
      summary.restored.push_back({pairs[k].plan->name, sha256_hex(outputs[k])});
      // Drop the pages of the inputs we read: on a large model, every layer's Q/K bytes would
      // otherwise stay resident and RSS would grow with the number of layers.
      for (const TensorRef& ref : {pairs[k].base, pairs[k].sft})
        ref.file->file().release(ref.file->data_start() + ref.info->begin, ref.info->byte_size());
    }
    throw_if_interrupted();
  }
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
