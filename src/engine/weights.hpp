// Where the engine's weights come from: a Hugging Face checkpoint directory, or (tests, benchmarks)
// tensors held in memory. Every tensor's shape is checked against the one the family expects, so a wrong
// checkpoint fails at load time with the tensor's name, never mid-forward. Weight matrices keep the
// checkpoint's bf16 (read from its memory map); vectors and everything else are decoded to fp32.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/weight_matrix.hpp"

namespace qk {
class Checkpoint;
struct TensorRef;
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
  // A weight matrix: rows = the product of all dimensions but the last, cols = the last. bf16 tensors stay
  // bf16 (mapped, no copy, where the source allows); other float dtypes are decoded to fp32. Same errors.
  virtual Matrix matrix(std::string_view name, const Shape& expected) const;
  virtual std::string label() const = 0;  // for messages: the directory, or "in-memory weights"
};

class CheckpointWeights final : public WeightSource {
 public:
  // Matrices of bf16 tensors point into the checkpoint's mapped shards and keep it open.
  explicit CheckpointWeights(std::shared_ptr<const Checkpoint> checkpoint) : checkpoint_(std::move(checkpoint)) {}
  bool has(std::string_view name) const override;
  std::vector<float> load(std::string_view name, const Shape& expected) const override;
  Matrix matrix(std::string_view name, const Shape& expected) const override;
  std::string label() const override;

 private:
  TensorRef checked(std::string_view name, const Shape& expected) const;
  std::shared_ptr<const Checkpoint> checkpoint_;
};

class MemoryWeights final : public WeightSource {
 public:
  // bf16: matrix() serves every tensor rounded to bf16 (to nearest even), as a bf16 checkpoint would.
  explicit MemoryWeights(bool bf16 = false) : bf16_(bf16) {}
  struct Tensor {
    Shape shape;
    std::vector<float> values;
  };
  void put(std::string name, Shape shape, std::vector<float> values);
  bool has(std::string_view name) const override;
  std::vector<float> load(std::string_view name, const Shape& expected) const override;
  Matrix matrix(std::string_view name, const Shape& expected) const override;
  std::string label() const override { return "in-memory weights"; }
  const std::map<std::string, Tensor, std::less<>>& tensors() const { return tensors_; }

 private:
  bool bf16_;
  std::map<std::string, Tensor, std::less<>> tensors_;
};

std::string shape_string(const Shape& shape);  // "[64, 128]"

}  // namespace qk::engine
