// A whole evaluation set: which samples to make (RULER's N random samples per task and length, or a
// length x depth grid for heatmaps) and writing them, in parallel but in a fixed order, to JSONL.
#pragma once
#include <filesystem>
#include <vector>

#include "niah/sample_generator.hpp"

namespace qk::niah {

struct TaskSetPlan {
  std::vector<TaskSpec> tasks;
  std::vector<int> lengths;
  int samples = 500;      // per task and length (RULER layout) or per grid cell
  int grid_depths = 0;    // 0: RULER layout; N >= 2: depths round(100 i / (N - 1)), i = 0..N-1
};

std::vector<double> grid_depth_values(int count);
// Stable storage for the requests' task pointers is the plan itself: keep it alive while they are used.
std::vector<SampleRequest> plan_requests(const TaskSetPlan& plan);

struct TaskSetStats {
  std::size_t samples = 0;
  double seconds = 0;
  int min_length = 0, max_length = 0;  // of `length` over the set
};

// Writes atomically (a temporary file renamed at the end). Samples are built on the worker pool
// (QK_THREADS sets its size); jobs == 1 builds them one by one on the calling thread.
TaskSetStats write_task_set(const SampleGenerator& generator, const std::vector<SampleRequest>& requests,
                            const std::filesystem::path& out, int jobs, bool show_progress);

}  // namespace qk::niah
