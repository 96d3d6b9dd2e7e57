#include "engine/weights.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/checkpoint.hpp"
#include "io/dtype.hpp"
#include "util/error.hpp"

#include <cstring>

namespace qk::engine {

std::string shape_string(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

bool CheckpointWeights::has(std::string_view name) const { return checkpoint_->has(name); }

Matrix WeightSource::matrix(std::string_view name, const Shape& expected) const {
  const std::size_t cols = expected.empty() ? 1 : static_cast<std::size_t>(expected.back());
  std::vector<float> values = load(name, expected);
  const std::size_t rows = cols == 0 ? 0 : values.size() / cols;
  return Matrix(std::move(values), rows, cols);
}

std::string CheckpointWeights::label() const { return checkpoint_->dir().string(); }

TensorRef CheckpointWeights::checked(std::string_view name, const Shape& expected) const {
  if (!checkpoint_->has(name))
    fail(ErrorKind::Mismatch, "{}: tensor '{}' is missing (the embedded engine needs it)", label(), name);
  const TensorRef ref = checkpoint_->at(name);
  if (ref.info->shape != expected)
    fail(ErrorKind::Mismatch, "{}: tensor '{}' has shape {}, the config implies {}", label(), name,
         shape_string(ref.info->shape), shape_string(expected));
  if (!dtype_is_float(ref.info->dtype))
    fail(ErrorKind::Unsupported, "{}: tensor '{}' has dtype {}, the engine reads float weights only", label(), name,
         dtype_name(ref.info->dtype));
  return ref;
}

std::vector<float> CheckpointWeights::load(std::string_view name, const Shape& expected) const {
  const TensorRef ref = checked(name, expected);
  std::vector<float> values(ref.info->element_count());
  decode_to_f32(ref.info->dtype, ref.data(), values);
  return values;
}

Matrix CheckpointWeights::matrix(std::string_view name, const Shape& expected) const {
  const TensorRef ref = checked(name, expected);
  const std::size_t cols = expected.empty() ? 1 : static_cast<std::size_t>(expected.back());
  const std::size_t rows = cols == 0 ? 0 : ref.info->element_count() / cols;
  const std::span<const std::byte> data = ref.data();
  if (ref.info->dtype == DType::BF16) {
    // safetensors places a tensor at any byte offset: an odd one is copied so the kernels read aligned values
    if (reinterpret_cast<std::uintptr_t>(data.data()) % alignof(std::uint16_t) == 0)
      return Matrix(reinterpret_cast<const std::uint16_t*>(data.data()), rows, cols, checkpoint_);
    std::vector<std::uint16_t> bits(rows * cols);
    std::memcpy(bits.data(), data.data(), data.size());
    return Matrix(std::move(bits), rows, cols);
  }
  std::vector<float> values(ref.info->element_count());
  decode_to_f32(ref.info->dtype, data, values);
  return Matrix(std::move(values), rows, cols);
}

void MemoryWeights::put(std::string name, Shape shape, std::vector<float> values) {
  std::int64_t count = 1;
  for (auto d : shape) count *= d;
  if (static_cast<std::size_t>(count) != values.size())
    fail(ErrorKind::Mismatch, "in-memory tensor '{}': {} values for shape {}", name, values.size(), shape_string(shape));
  tensors_[std::move(name)] = Tensor{std::move(shape), std::move(values)};
}

bool MemoryWeights::has(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }

std::vector<float> MemoryWeights::load(std::string_view name, const Shape& expected) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) fail(ErrorKind::Mismatch, "{}: tensor '{}' is missing", label(), name);
  if (it->second.shape != expected)
    fail(ErrorKind::Mismatch, "{}: tensor '{}' has shape {}, the config implies {}", label(), name,
         shape_string(it->second.shape), shape_string(expected));
  return it->second.values;
}

Matrix MemoryWeights::matrix(std::string_view name, const Shape& expected) const {
  if (!bf16_) return WeightSource::matrix(name, expected);
  const std::vector<float> values = load(name, expected);
  const std::size_t cols = expected.empty() ? 1 : static_cast<std::size_t>(expected.back());
  std::vector<std::uint16_t> bits(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) bits[i] = f32_to_bf16(values[i]);
  return Matrix(std::move(bits), cols == 0 ? 0 : values.size() / cols, cols);
}

}  // namespace qk::engine
