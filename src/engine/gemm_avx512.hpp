// The prefill products' kernel with AVX-512 (matmul.cpp calls it where the CPU has AVX-512, on one pool thread
// per block of outputs; attention calls it inside its own tasks):
//   y[rows, o_begin..o_end) (+)= x[rows, in] B
// B is given either as rows of outputs, b[o][k] (the weights, f32 or bf16, and attention's keys), or as rows of
// inputs, b[k][o] (attention's values); x, b and y have row strides ldx, ldb, ldy; bf16 is widened exactly, so
// f32 and bf16 weights of the same values give the same bits.
#pragma once
#include <cstddef>
#include <cstdint>

namespace qk::engine {

void gemm_avx512(const float* x, std::size_t ldx, std::size_t rows, std::size_t in, const float* b, std::size_t ldb,
                 std::size_t o_begin, std::size_t o_end, float* y, std::size_t ldy, bool accumulate);
void gemm_avx512(const float* x, std::size_t ldx, std::size_t rows, std::size_t in, const std::uint16_t* b,
                 std::size_t ldb, std::size_t o_begin, std::size_t o_end, float* y, std::size_t ldy, bool accumulate);
void gemm_inputs_by_outputs_avx512(const float* x, std::size_t ldx, std::size_t rows, std::size_t in, const float* b,
                                   std::size_t ldb, std::size_t o_begin, std::size_t o_end, float* y, std::size_t ldy,
                                   bool accumulate);

}  // namespace qk::engine
