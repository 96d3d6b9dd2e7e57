// A weight matrix of a linear layer, [rows, cols] row-major (PyTorch's [out_features, in_features]), in the
// precision the checkpoint stores it: bf16 weights stay bf16 and are read where the checkpoint's memory map
// has them (no copy, no f32 expansion at load); f32 weights (f32 checkpoints, other float dtypes decoded,
// in-memory weights) are held as f32. The products (matmul_wt in kernels.hpp) read either and accumulate in f32.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace qk::engine {

class Matrix {
 public:
  enum class Type { F32, BF16 };

  Matrix() = default;
  // Owns the values.
  Matrix(std::vector<float> values, std::size_t rows, std::size_t cols);
  Matrix(std::vector<std::uint16_t> bf16_bits, std::size_t rows, std::size_t cols);
  // Reads bf16 values at `bits` (2-byte aligned), kept valid by `owner` (e.g. the checkpoint's mapping).
  Matrix(const std::uint16_t* bits, std::size_t rows, std::size_t cols, std::shared_ptr<const void> owner);
  // f32 values the caller keeps alive (tests, benchmarks).
  static Matrix view(const float* values, std::size_t rows, std::size_t cols);

  Type type() const { return type_; }
  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  bool empty() const { return rows_ == 0; }
  const float* f32() const { return static_cast<const float*>(data_); }             // type() == F32
  const std::uint16_t* bf16() const { return static_cast<const std::uint16_t*>(data_); }  // type() == BF16
  std::size_t bytes() const { return rows_ * cols_ * (type_ == Type::F32 ? 4 : 2); }

  // Rows [begin, begin + count) as a matrix sharing this one's memory (one expert of a fused expert tensor).
  Matrix rows_view(std::size_t begin, std::size_t count) const;
  // Row r as floats (an embedding lookup).
  void row_to_f32(std::size_t r, float* out) const;
  // The values as f32, writable (in-memory surgery on attention weights): bf16 or shared values are first
  // copied into f32 this matrix alone holds, so later products read them in f32.
  std::span<float> writable();

 private:
  Type type_ = Type::F32;
  std::size_t rows_ = 0, cols_ = 0;
  const void* data_ = nullptr;
  std::shared_ptr<const void> owner_;  // keeps data_ alive
  bool sole_owner_ = false;           // owner_ is this matrix's own f32 vector, never shared with a view
};

}  // namespace qk::engine
