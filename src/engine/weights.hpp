// Where the engine's weights come from: a Hugging Face checkpoint directory, or (tests, benchmarks)
// tensors held in memory. Every tensor is decoded to fp32 on load, its shape checked against the one the
// family expects, so a wrong checkpoint fails at load time with the tensor's name, never mid-forward.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qk {
class Checkpoint;
}

namespace qk::engine {

using Shape = std::vector<std::int64_t>;

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual bool has(std::string_view name) const = 0;
  // The tensor as fp32, row-major. Throws Error(Mismatch) naming the source and tensor when it is absent
  // or its shape differs from `expected`, Error(Unsupported) for a non-float dtype.
  virtual std::vector<float> load(std::string_view name, const Shape& expected) const = 0;
  virtual std::string label() const = 0;  // for messages: the directory, or "in-memory weights"
};

class CheckpointWeights final : public WeightSource {
 public:
  explicit CheckpointWeights(const Checkpoint& checkpoint) : checkpoint_(checkpoint) {}
  bool has(std::string_view name) const override;
  std::vector<float> load(std::string_view name, const Shape& expected) const override;
  std::string label() const override;

 private:
  const Checkpoint& checkpoint_;
};

class MemoryWeights final : public WeightSource {
 public:
  struct Tensor {
    Shape shape;
    std::vector<float> values;
  };
  void put(std::string name, Shape shape, std::vector<float> values);
  bool has(std::string_view name) const override;
  std::vector<float> load(std::string_view name, const Shape& expected) const override;
  std::string label() const override { return "in-memory weights"; }
  const std::map<std::string, Tensor, std::less<>>& tensors() const { return tensors_; }

 private:
  std::map<std::string, Tensor, std::less<>> tensors_;
};

std::string shape_string(const Shape& shape);  // "[64, 128]"

}  // namespace qk::engine
