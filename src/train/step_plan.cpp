#include "train/step_plan.hpp"

#include "distributed/shard.hpp"

namespace nmt {

StepPlan plan_step(TrainingTask& task, int64_t position, int rank, int ranks, int64_t accumulate) {
  const std::vector<int64_t> costs = task.example_costs(position);
  const auto [begin, end] = shard_range(costs, rank, ranks);
  const std::vector<int64_t> shard(costs.begin() + static_cast<std::ptrdiff_t>(begin),
                                   costs.begin() + static_cast<std::ptrdiff_t>(end));
  const int pieces = static_cast<int>(accumulate);
  StepPlan plan;
  for (int piece = 0; piece < pieces; ++piece) {
    const auto [piece_begin, piece_end] = shard_range(shard, piece, pieces);
    if (piece_begin == piece_end) continue;
    plan.pieces.push_back(task.examples(position, begin + piece_begin, begin + piece_end));
    plan.tokens += plan.pieces.back().target_tokens;
  }
  return plan;
}

}  // namespace nmt
