#include "util/huge_pages.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <new>

namespace qk {

void* allocate_huge_page_backed(std::size_t bytes) {
  constexpr std::size_t kHugePage = std::size_t{2} << 20;
  void* p = nullptr;
  if (bytes < kHugePage) {
    p = std::aligned_alloc(64, (std::max<std::size_t>(bytes, 1) + 63) / 64 * 64);
  } else {
    const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    p = std::aligned_alloc(kHugePage, rounded);
#if defined(MADV_HUGEPAGE)
    if (p) ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only: without THP the pages stay 4 KiB
#endif
  }
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace qk
