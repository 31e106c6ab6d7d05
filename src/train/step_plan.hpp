// This rank's part of one batch: its shard of the batch's examples, cut into
// training.accumulate micro-batches.
#pragma once
#include <cstdint>
#include <vector>

#include "data/batch.hpp"
#include "train/training_task.hpp"

namespace nmt {

struct StepPlan {
  std::vector<Batch> pieces;  // empty pieces left out: a shard may be empty
  int64_t tokens = 0;         // target tokens of this rank's pieces
};

// Batch `position` of the task's current epoch, for `rank` of `ranks`.
StepPlan plan_step(TrainingTask& task, int64_t position, int rank, int ranks, int64_t accumulate);

// The random seed of `rank`'s dropout at `step`: it depends on nothing else, so a resume with the
// same world size needs no random state, and the ranks drop differently.
uint64_t rank_step_seed(int64_t seed, int64_t step, int rank);

}  // namespace nmt
