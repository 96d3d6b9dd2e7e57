// QK-Pro and diagnose run their GEMMs from several std::threads at once (parallel_for over heads),
// each call single-threaded: OpenBLAS's own worker threads would otherwise spin in sched_yield
// between calls and take the cores from the element-wise work (measured: a fifth of the samples).
// This scope sets OpenBLAS to one thread and restores the previous count when it ends.
#pragma once
#include <cblas.h>

namespace qk {

class SingleThreadedBlas {
 public:
  SingleThreadedBlas() : previous_(openblas_get_num_threads()) { openblas_set_num_threads(1); }
  ~SingleThreadedBlas() { openblas_set_num_threads(previous_); }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int previous_;
};

}  // namespace qk
