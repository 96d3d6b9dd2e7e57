// Element types of safetensors files, and conversion between the floating-point ones.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace qk {

enum class DType { BOOL, U8, I8, U16, I16, U32, I32, U64, I64, F8_E4M3, F8_E5M2, F16, BF16, F32, F64 };

std::optional<DType> parse_dtype(std::string_view name);  // "BF16" -> DType::BF16; unknown -> nullopt
std::string_view dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);  // bytes per element
bool dtype_is_float(DType dtype);

// Scalar conversions. float -> bf16/f16 rounds to nearest, ties to even; NaN stays NaN.
float bf16_to_f32(std::uint16_t bits);
std::uint16_t f32_to_bf16(float value);
float f16_to_f32(std::uint16_t bits);
std::uint16_t f32_to_f16(float value);
float f8e4m3_to_f32(std::uint8_t bits);
float f8e5m2_to_f32(std::uint8_t bits);

// Decodes `count` elements of a float dtype (F8/F16/BF16/F32/F64) into floats.
void decode_to_f32(DType dtype, std::span<const std::byte> src, std::span<float> dst);
// Encodes floats into F16/BF16/F32/F64 (round to nearest even). F8 targets are Unsupported.
void encode_from_f32(DType dtype, std::span<const float> src, std::span<std::byte> dst);
// Byte-exact conversion between float dtypes through double precision where needed:
// F64 -> F32 and F32 -> BF16/F16 round once, to nearest even (no double rounding through f32 for F64 -> BF16).
void convert_dtype(DType from, std::span<const std::byte> src, DType to, std::span<std::byte> dst);

}  // namespace qk
