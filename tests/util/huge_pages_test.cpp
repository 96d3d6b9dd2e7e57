// Large blocks start on a 2 MiB boundary (so that huge pages can back them), small ones on 64 bytes, and a
// std::vector grows on the allocator like on the standard one.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "util/huge_pages.hpp"

TEST(HugePages, LargeBlocksStartOnTwoMebibytesAndVectorsGrowAsUsual) {
  for (std::size_t bytes : {std::size_t{1}, std::size_t{100}, std::size_t{3} << 20, (std::size_t{2} << 20) + 1}) {
    void* p = qk::allocate_huge_page_backed(bytes);
    const auto address = reinterpret_cast<std::uintptr_t>(p);
    EXPECT_EQ(address % (bytes >= (std::size_t{2} << 20) ? std::size_t{2} << 20 : 64), 0u) << bytes << " bytes";
    static_cast<unsigned char*>(p)[bytes - 1] = 1;  // the whole block is usable
    std::free(p);
  }
  std::vector<float, qk::HugePageAllocator<float>> v;
  for (int i = 0; i < 1 << 20; ++i) v.push_back(static_cast<float>(i));
  for (int i = 0; i < 1 << 20; i += 4099) ASSERT_EQ(v[i], static_cast<float>(i));
  const std::vector<float, qk::HugePageAllocator<float>> copy = v;
  EXPECT_EQ(copy, v);
}
