// Translation training: bucketed sentence-pair batches, validation loss plus greedy BLEU/chrF.
#pragma once
#include "train/training_task.hpp"

namespace nmt {

std::unique_ptr<TrainingTask> make_nmt_task(const Config& config, const std::string& model_dir,
                                            const torch::Device& device);

}  // namespace nmt
