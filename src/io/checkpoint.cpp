#include "io/checkpoint.hpp"

#include <set>
#include <sstream>

#include "util/json.hpp"
#include "util/error.hpp"

namespace qk {

namespace fs = std::filesystem;

Checkpoint::Checkpoint(const fs::path& dir) : dir_(dir) {
  if (!fs::is_directory(dir)) fail(ErrorKind::Io, "{} is not a directory", dir.string());
  const fs::path config_path = dir / "config.json";
  if (!fs::exists(config_path)) fail(ErrorKind::Format, "{} has no config.json", dir.string());
  config_ = read_json_file(config_path);
  if (!config_.is_object()) fail(ErrorKind::Format, "{} is not a JSON object", config_path.string());

  std::vector<std::string> shard_names;
  const fs::path index_path = dir / "model.safetensors.index.json";
  if (fs::exists(index_path)) {
    index_path_ = index_path;
    index_ = read_json_file(index_path);
    if (!index_.is_object() || !index_.contains("weight_map") || !index_["weight_map"].is_object())
      fail(ErrorKind::Format, "{}: missing 'weight_map' object", index_path.string());
    std::set<std::string> unique;
    for (const auto& [tensor, shard] : index_["weight_map"].items()) {
      if (!shard.is_string()) fail(ErrorKind::Format, "{}: weight_map['{}'] is not a file name", index_path.string(), tensor);
      const std::string name = shard.get<std::string>();
      if (name.find('/') != std::string::npos || name == ".." || name == ".")
        fail(ErrorKind::Format, "{}: weight_map['{}'] = '{}' is not a file in the directory", index_path.string(), tensor, name);
      if (unique.insert(name).second) shard_names.push_back(name);
    }
    std::sort(shard_names.begin(), shard_names.end());
  } else if (fs::exists(dir / "model.safetensors")) {
    shard_names.push_back("model.safetensors");
  } else {
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".safetensors") found.push_back(e.path().filename().string());
    if (found.size() == 1) {
      shard_names = found;
    } else if (found.empty()) {
      bool has_bin = fs::exists(dir / "pytorch_model.bin") || fs::exists(dir / "pytorch_model.bin.index.json");
      fail(ErrorKind::Unsupported, "{} holds no .safetensors weights{}", dir.string(),
           has_bin ? " (only pytorch_model.bin: convert it to safetensors first)" : "");
    } else {
      fail(ErrorKind::Format, "{} holds {} .safetensors files but no model.safetensors.index.json", dir.string(), found.size());
    }
  }

  for (const auto& name : shard_names) {
    const fs::path path = dir / name;
    // The error_code form: a name the file system refuses (longer than a file name may be, found by fuzzing)
    // is an error naming it, not a filesystem_error thrown past the callers.
    std::error_code error;
    const bool present = fs::exists(path, error);
    if (error) fail(ErrorKind::Io, "{}: shard {} listed in the index cannot be looked up: {}", dir.string(), name, error.message());
    if (!present) fail(ErrorKind::Io, "{}: shard {} listed in the index does not exist", dir.string(), name);
    shards_.push_back(std::make_unique<SafetensorsFile>(path));
  }
  for (const auto& shard : shards_) {
    for (const auto& info : shard->tensors()) {
      auto [it, inserted] = by_name_.emplace(info.name, TensorRef{shard.get(), &info});
      if (!inserted)
        fail(ErrorKind::Format, "tensor '{}' appears in both {} and {}", info.name, it->second.file->path().string(),
             shard->path().string());
    }
  }
  if (sharded()) {
    // The index and the shards must describe the same set of tensors in the same places.
    const auto& weight_map = index_["weight_map"];
    for (const auto& [tensor, shard] : weight_map.items()) {
      auto it = by_name_.find(tensor);
      if (it == by_name_.end())
        fail(ErrorKind::Format, "{}: tensor '{}' is listed for {} but not stored there", index_path_.string(), tensor,
             shard.get<std::string>());
      if (it->second.file->path().filename() != shard.get<std::string>())
        fail(ErrorKind::Format, "{}: tensor '{}' is listed for {} but stored in {}", index_path_.string(), tensor,
             shard.get<std::string>(), it->second.file->path().filename().string());
    }
    for (const auto& [tensor, ref] : by_name_)
      if (!weight_map.contains(tensor))
        fail(ErrorKind::Format, "{}: tensor '{}' stored in {} is missing from the index", index_path_.string(), tensor,
             ref.file->path().filename().string());
  }
}

std::vector<std::string> Checkpoint::tensor_names() const {
  std::vector<std::string> names;
  for (const auto& shard : shards_)
    for (const auto& info : shard->tensors()) names.push_back(info.name);
  return names;
}

bool Checkpoint::has(std::string_view name) const { return by_name_.count(std::string(name)) != 0; }

TensorRef Checkpoint::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? TensorRef{nullptr, nullptr} : it->second;
}

TensorRef Checkpoint::at(std::string_view name) const {
  TensorRef ref = find(name);
  if (!ref.file) fail(ErrorKind::Mismatch, "{} has no tensor '{}'", dir_.string(), name);
  return ref;
}

std::uint64_t Checkpoint::total_tensor_bytes() const {
  std::uint64_t total = 0;
  for (const auto& shard : shards_)
    for (const auto& info : shard->tensors()) total += info.byte_size();
  return total;
}

void Checkpoint::check_unchanged() const {
  for (const auto& shard : shards_) shard->check_unchanged();
}

}  // namespace qk
