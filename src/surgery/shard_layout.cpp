#include "surgery/shard_layout.hpp"

#include <fmt/format.h>

namespace qk {
namespace {

ShardLayout copy_of(const SafetensorsFile& shard) {
  ShardLayout layout{shard.path().filename().string(), {}, {}, shard.file_size(), &shard, {}};
  for (const auto& info : shard.tensors()) {
    layout.tensors.push_back({&shard, &info});
    layout.offsets.push_back(shard.data_start() + info.begin);
  }
  return layout;
}

// A new header for `tensors` packed in order; fills in the offsets and the size.
void write_header(ShardLayout& shard, const std::map<std::string, std::string>& metadata) {
  std::vector<TensorInfo> infos;
  std::uint64_t cursor = 0;
  for (const auto& t : shard.tensors) {
    TensorInfo info = *t.info;
    info.begin = cursor;
    info.end = cursor + t.info->byte_size();
    cursor = info.end;
    infos.push_back(info);
  }
  const std::string header = serialize_safetensors_header(infos, metadata);
  shard.head.assign(8, '\0');
  for (int b = 0; b < 8; ++b) shard.head[b] = static_cast<char>((header.size() >> (8 * b)) & 0xff);
  shard.head += header;
  for (const auto& info : infos) shard.offsets.push_back(shard.head.size() + info.begin);
  shard.size = shard.head.size() + cursor;
}

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
  for (std::size_t i = 0; i < shards.size(); ++i) {
    shards[i].name = shards.size() == 1 ? "model.safetensors" : fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    write_header(shards[i], sft.shards().front()->metadata());
  }
  return shards;
}

// Appends a copy to `ranges`, extending the last one when it continues it in both files.
void add_range(std::vector<CopyRange>& ranges, CopyRange range) {
  if (!ranges.empty()) {
    CopyRange& last = ranges.back();
    if (last.to == range.to && last.source_fd == range.source_fd && last.offset + last.length == range.offset &&
        last.source_offset + last.length == range.source_offset) {
      last.length += range.length;
      return;
    }
  }
  ranges.push_back(std::move(range));
}

}  // namespace

std::vector<ShardLayout> lay_out_shards(const Checkpoint& sft, std::optional<std::uint64_t> max_shard_size) {
  if (max_shard_size) return reshard(sft, *max_shard_size);
  std::vector<ShardLayout> shards;
  for (const auto& shard : sft.shards()) shards.push_back(copy_of(*shard));
  return shards;
}

std::vector<CopyRange> kept_ranges(const ShardLayout& shard, OutputFile& file, const std::set<std::string>& planned) {
  std::vector<CopyRange> ranges;
  if (shard.copy_of) add_range(ranges, {&file, 0, shard.copy_of->file().fd(), 0, shard.copy_of->data_start(), shard.copy_of->path().string()});
  for (std::size_t k = 0; k < shard.tensors.size(); ++k) {
    const TensorRef& t = shard.tensors[k];
    if (planned.count(t.info->name)) continue;
    add_range(ranges, {&file, shard.offsets[k], t.file->file().fd(), t.file->data_start() + t.info->begin, t.info->byte_size(),
                       t.file->path().string()});
  }
  return ranges;
}

}  // namespace qk
