// Small helpers of the surgery tests: an output that prints nothing, a tensor's values as floats.
#pragma once
#include <filesystem>
#include <vector>

#include "io/dtype.hpp"
#include "io/checkpoint.hpp"
#include "surgery/output.hpp"

namespace qk::test {

inline OutputOptions quiet_output(const std::filesystem::path& out) {
  OutputOptions o;
  o.out = out;
  o.quiet = true;
  return o;
}

inline std::vector<float> decoded(const TensorRef& t) {
  std::vector<float> v(t.info->element_count());
  decode_to_f32(t.info->dtype, t.data(), v);
  return v;
}

}  // namespace qk::test
