#include "model/fused_recurrent.hpp"

namespace nmt {

std::vector<PackedStep> packed_steps(const StepSchedule& schedule) {
  std::vector<PackedStep> steps;
  int64_t offset = 0;
  for (const int64_t rows : schedule.batch_sizes) {
    TORCH_CHECK(steps.empty() || rows <= steps.back().rows, "packed batch sizes must not grow");
    steps.push_back({offset, rows});
    offset += rows;
  }
  if (schedule.reverse) std::reverse(steps.begin(), steps.end());
  return steps;
}

}  // namespace nmt
