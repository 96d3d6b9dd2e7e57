// Memory for large buffers that are filled as they are used (the engine's activations and KV caches): blocks of
// 2 MiB and more start on a 2 MiB boundary and are advised for transparent huge pages (MADV_HUGEPAGE: with THP
// in "madvise" mode, Debian's default, only advised memory gets them), so that their first touch faults once
// per 2 MiB instead of once per 4 KiB page. On the development VM a fault cost about 9 us: a 2048-token
// prefill of the 397M MoE faulted 56 thousand times, and the first decode step after a 16K-token prompt of the
// shipped models took 0.3 s, most of it faulting in the copy of the grown KV cache.
#pragma once
#include <cstddef>
#include <cstdlib>

namespace qk {

// At least `bytes` bytes (aligned to 64), released with std::free; throws std::bad_alloc.
void* allocate_huge_page_backed(std::size_t bytes);

// The same as a standard allocator, for std::vector.
template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(allocate_huge_page_backed(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { std::free(p); }
  friend bool operator==(const HugePageAllocator&, const HugePageAllocator&) { return true; }
};

}  // namespace qk
