#include "train/step_plan.hpp"

#include "distributed/shard.hpp"

namespace nmt {

namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

uint64_t rank_step_seed(int64_t seed, int64_t step, int rank) {
  return splitmix64(splitmix64(static_cast<uint64_t>(seed) ^ static_cast<uint64_t>(step)) + static_cast<uint64_t>(rank));
}

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
