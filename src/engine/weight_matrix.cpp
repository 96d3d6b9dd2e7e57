#include "engine/weight_matrix.hpp"

#include <algorithm>
#include <bit>

namespace qk::engine {

Matrix::Matrix(std::vector<float> values, std::size_t rows, std::size_t cols)
    : type_(Type::F32), rows_(rows), cols_(cols), sole_owner_(true) {
  auto held = std::make_shared<std::vector<float>>(std::move(values));
  data_ = held->data();
  owner_ = std::move(held);
}

Matrix::Matrix(std::vector<std::uint16_t> bf16_bits, std::size_t rows, std::size_t cols)
    : type_(Type::BF16), rows_(rows), cols_(cols) {
  auto held = std::make_shared<std::vector<std::uint16_t>>(std::move(bf16_bits));
  data_ = held->data();
  owner_ = std::move(held);
}

Matrix::Matrix(const std::uint16_t* bits, std::size_t rows, std::size_t cols, std::shared_ptr<const void> owner)
    : type_(Type::BF16), rows_(rows), cols_(cols), data_(bits), owner_(std::move(owner)) {}

Matrix Matrix::view(const float* values, std::size_t rows, std::size_t cols) {
  Matrix m;
  m.rows_ = rows, m.cols_ = cols, m.data_ = values;
  return m;
}

Matrix Matrix::rows_view(std::size_t begin, std::size_t count) const {
  Matrix view = *this;
  view.rows_ = count;
  view.data_ = type_ == Type::F32 ? static_cast<const void*>(f32() + begin * cols_)
                                  : static_cast<const void*>(bf16() + begin * cols_);
  view.sole_owner_ = false;
  return view;
}

void Matrix::row_to_f32(std::size_t r, float* out) const {
  if (type_ == Type::F32) {
    std::copy_n(f32() + r * cols_, cols_, out);
    return;
  }
  // bf16 is the upper half of an f32: widening is exact
  const std::uint16_t* row = bf16() + r * cols_;
  for (std::size_t i = 0; i < cols_; ++i) out[i] = std::bit_cast<float>(static_cast<std::uint32_t>(row[i]) << 16);
}

std::span<float> Matrix::writable() {
  if (!(type_ == Type::F32 && sole_owner_)) {
    std::vector<float> values(rows_ * cols_);
    for (std::size_t r = 0; r < rows_; ++r) row_to_f32(r, values.data() + r * cols_);
    *this = Matrix(std::move(values), rows_, cols_);
  }
  return {const_cast<float*>(f32()), rows_ * cols_};
}

}  // namespace qk::engine
