#include "engine/weights.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/checkpoint.hpp"
#include "io/dtype.hpp"
#include "util/error.hpp"

namespace qk::engine {

std::string shape_string(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

bool CheckpointWeights::has(std::string_view name) const { return checkpoint_.has(name); }

std::string CheckpointWeights::label() const { return checkpoint_.dir().string(); }

std::vector<float> CheckpointWeights::load(std::string_view name, const Shape& expected) const {
  if (!checkpoint_.has(name))
    fail(ErrorKind::Mismatch, "{}: tensor '{}' is missing (the embedded engine needs it)", label(), name);
  const TensorRef ref = checkpoint_.at(name);
  if (ref.info->shape != expected)
    fail(ErrorKind::Mismatch, "{}: tensor '{}' has shape {}, the config implies {}", label(), name,
         shape_string(ref.info->shape), shape_string(expected));
  if (!dtype_is_float(ref.info->dtype))
    fail(ErrorKind::Unsupported, "{}: tensor '{}' has dtype {}, the engine reads float weights only", label(), name,
         dtype_name(ref.info->dtype));
  std::vector<float> values(ref.info->element_count());
  decode_to_f32(ref.info->dtype, ref.data(), values);
  return values;
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

}  // namespace qk::engine
