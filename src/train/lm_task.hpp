// Language-model training: stream mode (truncated BPTT, state carried and detached between
// windows) or sentence mode (bucketed, packed SOS ... EOS lines).
#pragma once
#include "train/training_task.hpp"

namespace nmt {

std::unique_ptr<TrainingTask> make_lm_task(const Config& config, const std::string& model_dir,
                                           const torch::Device& device);

}  // namespace nmt
