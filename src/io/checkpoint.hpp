// A Hugging Face model directory: config.json, one model.safetensors or several shards with
// model.safetensors.index.json, and any other files (tokenizer, templates, code) alongside.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.hpp"

namespace qk {

struct TensorRef {
  const SafetensorsFile* file;
  const TensorInfo* info;
  std::span<const std::byte> data() const { return file->data(*info); }
};

class Checkpoint {
 public:
  // Opens the directory, parses config.json and the index (if any), maps and validates every shard,
  // and checks that the index and the shards agree. Throws Error naming the file at fault.
  explicit Checkpoint(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  const nlohmann::json& config() const { return config_; }
  bool sharded() const { return !index_path_.empty(); }
  const std::filesystem::path& index_path() const { return index_path_; }  // empty when single-file
  const nlohmann::json& index() const { return index_; }                   // null when single-file
  const std::vector<std::unique_ptr<SafetensorsFile>>& shards() const { return shards_; }

  // All tensor names, shard by shard, in file order.
  std::vector<std::string> tensor_names() const;
  bool has(std::string_view name) const;
  TensorRef find(std::string_view name) const;  // file == nullptr when absent
  TensorRef at(std::string_view name) const;    // throws Error(Mismatch) naming the checkpoint and tensor
  std::uint64_t total_tensor_bytes() const;
  // Every shard still the file that was opened (SafetensorsFile::check_unchanged); throws Error(Io).
  void check_unchanged() const;

 private:
  std::filesystem::path dir_;
  nlohmann::json config_;
  std::filesystem::path index_path_;
  nlohmann::json index_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::unordered_map<std::string, TensorRef> by_name_;
};

}  // namespace qk
