#include "io/dtype.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>

#include "util/error.hpp"

namespace qk {
namespace {

struct DTypeEntry {
  DType dtype;
  std::string_view name;  // as written in safetensors headers
  std::size_t size;
  bool is_float;
};

constexpr std::array<DTypeEntry, 15> kDTypes{{
    {DType::BOOL, "BOOL", 1, false},       {DType::U8, "U8", 1, false},
    {DType::I8, "I8", 1, false},           {DType::U16, "U16", 2, false},
    {DType::I16, "I16", 2, false},         {DType::U32, "U32", 4, false},
    {DType::I32, "I32", 4, false},         {DType::U64, "U64", 8, false},
    {DType::I64, "I64", 8, false},         {DType::F8_E4M3, "F8_E4M3", 1, true},
    {DType::F8_E5M2, "F8_E5M2", 1, true},  {DType::F16, "F16", 2, true},
    {DType::BF16, "BF16", 2, true},        {DType::F32, "F32", 4, true},
    {DType::F64, "F64", 8, true},
}};

const DTypeEntry& entry(DType dtype) { return kDTypes[static_cast<std::size_t>(dtype)]; }

// IEEE-style binary format with `exponent_bits` and `mantissa_bits` (implicit leading 1).
struct FloatFormat {
  int exponent_bits;
  int mantissa_bits;
};
constexpr FloatFormat kBF16{8, 7}, kF16{5, 10}, kF32{8, 23};

// Rounds a double to the nearest value of `format`, ties to even, and returns its bit pattern.
// One rounding step from the exact source value: F64 -> BF16 never double-rounds through F32.
// Scaling by powers of two and `m - 1` for m in [1, 2) are exact in double, so nearbyint (the
// default rounding mode is to-nearest-even) sees the exact scaled mantissa.
std::uint64_t round_to_format(double value, FloatFormat format) {
  const int bias = (1 << (format.exponent_bits - 1)) - 1;
  const std::uint64_t sign = std::signbit(value) ? std::uint64_t{1} << (format.exponent_bits + format.mantissa_bits) : 0;
  const std::uint64_t exponent_all_ones = (std::uint64_t{1} << format.exponent_bits) - 1;
  if (std::isnan(value)) return sign | exponent_all_ones << format.mantissa_bits | std::uint64_t{1} << (format.mantissa_bits - 1);
  double magnitude = std::fabs(value);
  if (std::isinf(magnitude)) return sign | exponent_all_ones << format.mantissa_bits;
  if (magnitude == 0.0) return sign;
  int exponent2 = 0;
  std::frexp(magnitude, &exponent2);  // magnitude = f * 2^exponent2, f in [0.5, 1)
  int unbiased = exponent2 - 1;       // magnitude = 1.x * 2^unbiased
  std::uint64_t bits;
  if (unbiased >= 1 - bias) {
    double fraction = std::ldexp(magnitude, -unbiased) - 1.0;  // in [0, 1)
    auto mantissa = static_cast<std::uint64_t>(std::nearbyint(std::ldexp(fraction, format.mantissa_bits)));
    // A mantissa that rounds up to 2^M carries into the exponent; past the largest exponent it is inf.
    bits = (static_cast<std::uint64_t>(unbiased + bias) << format.mantissa_bits) + mantissa;
    if ((bits >> format.mantissa_bits) >= exponent_all_ones) bits = exponent_all_ones << format.mantissa_bits;
  } else {
    // Subnormal: value = mantissa * 2^(1 - bias - M). A carry to 2^M is exactly the smallest normal.
    bits = static_cast<std::uint64_t>(std::nearbyint(std::ldexp(magnitude, format.mantissa_bits + bias - 1)));
  }
  return sign | bits;
}

// Decodes a small float with `format`; `finite_only` is the OCP E4M3 ("fn") variant: no infinities,
// and only the all-ones pattern is NaN.
float decode_small_float(std::uint32_t bits, FloatFormat format, bool finite_only) {
  const int bias = (1 << (format.exponent_bits - 1)) - 1;
  const std::uint32_t mantissa_mask = (1u << format.mantissa_bits) - 1;
  const std::uint32_t exponent_all_ones = (1u << format.exponent_bits) - 1;
  const bool negative = (bits >> (format.exponent_bits + format.mantissa_bits)) & 1u;
  const std::uint32_t exponent = (bits >> format.mantissa_bits) & exponent_all_ones;
  const std::uint32_t mantissa = bits & mantissa_mask;
  float magnitude;
  if (finite_only && exponent == exponent_all_ones && mantissa == mantissa_mask) {
    magnitude = NAN;
  } else if (!finite_only && exponent == exponent_all_ones) {
    magnitude = mantissa ? NAN : INFINITY;
  } else if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), 1 - bias - format.mantissa_bits);
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | (mantissa_mask + 1)), static_cast<int>(exponent) - bias - format.mantissa_bits);
  }
  return negative ? -magnitude : magnitude;
}

template <typename T>
T load(const std::byte* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

template <typename T>
void store(std::byte* p, T value) {
  std::memcpy(p, &value, sizeof(T));
}

double load_as_double(DType dtype, const std::byte* p) {
  switch (dtype) {
    case DType::F64: return load<double>(p);
    case DType::F32: return load<float>(p);
    case DType::BF16: return bf16_to_f32(load<std::uint16_t>(p));
    case DType::F16: return f16_to_f32(load<std::uint16_t>(p));
    case DType::F8_E4M3: return f8e4m3_to_f32(load<std::uint8_t>(p));
    case DType::F8_E5M2: return f8e5m2_to_f32(load<std::uint8_t>(p));
    default: fail(ErrorKind::Unsupported, "cannot decode dtype {} as floating point", dtype_name(dtype));
  }
}

void store_from_double(DType dtype, std::byte* p, double value) {
  switch (dtype) {
    case DType::F64: store<double>(p, value); return;
    case DType::F32: store<std::uint32_t>(p, static_cast<std::uint32_t>(round_to_format(value, kF32))); return;
    case DType::BF16: store<std::uint16_t>(p, static_cast<std::uint16_t>(round_to_format(value, kBF16))); return;
    case DType::F16: store<std::uint16_t>(p, static_cast<std::uint16_t>(round_to_format(value, kF16))); return;
    default: fail(ErrorKind::Unsupported, "cannot encode into dtype {} (supported targets: F64, F32, BF16, F16)", dtype_name(dtype));
  }
}

}  // namespace

std::optional<DType> parse_dtype(std::string_view name) {
  for (const auto& e : kDTypes)
    if (e.name == name) return e.dtype;
  return std::nullopt;
}

std::string_view dtype_name(DType dtype) { return entry(dtype).name; }
std::size_t dtype_size(DType dtype) { return entry(dtype).size; }
bool dtype_is_float(DType dtype) { return entry(dtype).is_float; }

float bf16_to_f32(std::uint16_t bits) { return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16); }
// bf16 is f32 without its low 16 mantissa bits, so round-to-nearest-even is one integer add on the
// bits (a carry moves into the exponent, FLT_MAX rounds to inf, subnormals stay subnormal): the
// same result as round_to_format(value, kBF16) for every float (checked exhaustively when written),
// without its frexp/ldexp (the QK-Pro and blend writers encode hundreds of millions of values).
std::uint16_t f32_to_bf16(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>(((bits >> 16) & 0x8000u) | 0x7FC0u);  // quiet NaN, sign kept
  return static_cast<std::uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}
float f16_to_f32(std::uint16_t bits) { return decode_small_float(bits, kF16, false); }
std::uint16_t f32_to_f16(float value) { return static_cast<std::uint16_t>(round_to_format(value, kF16)); }
float f8e4m3_to_f32(std::uint8_t bits) { return decode_small_float(bits, {4, 3}, true); }
float f8e5m2_to_f32(std::uint8_t bits) { return decode_small_float(bits, {5, 2}, false); }

void decode_to_f32(DType dtype, std::span<const std::byte> src, std::span<float> dst) {
  const std::size_t size = dtype_size(dtype);
  if (src.size() != dst.size() * size)
    fail(ErrorKind::Format, "decode_to_f32: {} bytes of {} do not hold {} elements", src.size(), dtype_name(dtype), dst.size());
  if (dtype == DType::F32) {
    std::memcpy(dst.data(), src.data(), src.size());
  } else if (dtype == DType::BF16) {
    for (std::size_t i = 0; i < dst.size(); ++i) dst[i] = bf16_to_f32(load<std::uint16_t>(src.data() + 2 * i));
  } else {
    for (std::size_t i = 0; i < dst.size(); ++i) dst[i] = static_cast<float>(load_as_double(dtype, src.data() + size * i));
  }
}

void encode_from_f32(DType dtype, std::span<const float> src, std::span<std::byte> dst) {
  const std::size_t size = dtype_size(dtype);
  if (dst.size() != src.size() * size)
    fail(ErrorKind::Format, "encode_from_f32: {} bytes of {} do not hold {} elements", dst.size(), dtype_name(dtype), src.size());
  if (dtype == DType::F32) {
    std::memcpy(dst.data(), src.data(), dst.size());
    return;
  }
  if (dtype == DType::BF16) {
    for (std::size_t i = 0; i < src.size(); ++i) store<std::uint16_t>(dst.data() + 2 * i, f32_to_bf16(src[i]));
    return;
  }
  for (std::size_t i = 0; i < src.size(); ++i) store_from_double(dtype, dst.data() + size * i, src[i]);
}

void convert_dtype(DType from, std::span<const std::byte> src, DType to, std::span<std::byte> dst) {
  const std::size_t count = src.size() / dtype_size(from);
  if (src.size() % dtype_size(from) != 0 || dst.size() != count * dtype_size(to))
    fail(ErrorKind::Format, "convert_dtype: {} bytes of {} do not fit {} bytes of {}", src.size(), dtype_name(from), dst.size(), dtype_name(to));
  if (from == to) {
    std::memcpy(dst.data(), src.data(), src.size());
    return;
  }
  if (!dtype_is_float(from) || !dtype_is_float(to))
    fail(ErrorKind::Unsupported, "cannot convert {} to {}: only floating-point conversions are defined", dtype_name(from), dtype_name(to));
  for (std::size_t i = 0; i < count; ++i)
    store_from_double(to, dst.data() + i * dtype_size(to), load_as_double(from, src.data() + i * dtype_size(from)));
}

}  // namespace qk
