// Where every tensor of a surgery's output goes: which shard file, at which offset, and which bytes of
// each shard come from SFT unchanged (everything outside the plan). Computed before any byte is written.
#pragma once
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "io/background_copy.hpp"
#include "io/checkpoint.hpp"

namespace qk {

struct ShardLayout {
  std::string name;
  std::vector<TensorRef> tensors;       // in file order
  std::vector<std::uint64_t> offsets;   // file offset of each tensor's bytes in the output shard
  std::uint64_t size = 0;               // of the output shard
  const SafetensorsFile* copy_of = nullptr;  // SFT's shard this one repeats byte for byte outside the plan (kept sharding)
  std::string head;                     // resharding: the length prefix and the new header, written at offset 0
};

// SFT's own sharding (default), or new shards of at most `max_shard_size` bytes of tensors (--max-shard-size).
std::vector<ShardLayout> lay_out_shards(const Checkpoint& sft, std::optional<std::uint64_t> max_shard_size);

// The copies from SFT's files that fill `shard` in `file` outside the `planned` tensors (headers of kept
// shards and every tensor outside the plan), adjacent ranges merged into one.
std::vector<CopyRange> kept_ranges(const ShardLayout& shard, OutputFile& file, const std::set<std::string>& planned);

}  // namespace qk
