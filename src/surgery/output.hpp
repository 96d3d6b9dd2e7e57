// Writes a surgery's output checkpoint: SFT's files and shards, with the planned tensors replaced
// by the method's bytes, built in a staging directory and renamed into place at the end.
#pragma once
#include "io/file_ops.hpp"
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "surgery/method.hpp"

namespace qk {

struct OutputOptions {
  std::filesystem::path out;
  bool overwrite = false;                        // --force
  std::optional<std::uint64_t> max_shard_size;   // --max-shard-size; default keeps SFT's sharding
  bool quiet = false;
  bool fsync = false;                            // --fsync: every file on disk before OUT is installed
  std::string command_line;                      // recorded in qkrestore.json and the model card
  Selection selection;                           // recorded for `verify`, with the method's spec()
};

inline Durability durability(const OutputOptions& options) { return options.fsync ? Durability::Disk : Durability::PageCache; }

struct RestoredTensor {
  std::string name;
  std::string sha256;
};

struct OutputSummary {
  std::uint64_t bytes_written = 0;
  double seconds = 0;
  std::vector<RestoredTensor> restored;
  std::vector<std::string> shards;
};

// Refuses an OUT that is, contains or lies inside BASE or SFT (Error(Usage)).
void check_output_location(const std::filesystem::path& out, const std::filesystem::path& base, const std::filesystem::path& sft);

OutputSummary write_output(const Checkpoint& base, const Checkpoint& sft, const SurgeryPlan& plan, const SurgeryMethod& method,
                           const OutputOptions& options);

// Groups the plan's tensors by layer (tensors outside the layer stack one by one), the unit a method computes.
std::vector<std::vector<const PlannedTensor*>> layer_groups(const SurgeryPlan& plan);

// Parses "5GB", "500MB", "20KB", "1000" (bytes) as the Hugging Face max_shard_size does (powers of 1000; GiB/MiB: 1024).
std::uint64_t parse_byte_size(const std::string& text);

}  // namespace qk
