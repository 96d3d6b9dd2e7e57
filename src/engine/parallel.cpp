#include "engine/parallel.hpp"

#include <cblas.h>

#include "util/thread_pool.hpp"

namespace qk::engine {
namespace {

void keep_blas_single_threaded() {
  [[maybe_unused]] static const bool once = (openblas_set_num_threads(1), true);
}

}  // namespace

void parallel_for(std::size_t count, const std::function<void(std::size_t)>& body) {
  keep_blas_single_threaded();
  qk::parallel_for(count, body);
}

void parallel_ranges(std::size_t count, std::size_t grain,
                     const std::function<void(std::size_t begin, std::size_t end)>& body) {
  keep_blas_single_threaded();
  qk::parallel_ranges(count, grain, body);
}

std::size_t engine_threads() { return qk::worker_threads(); }

}  // namespace qk::engine
