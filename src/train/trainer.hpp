// `nmt train`: the training loop with validation, checkpoints and exact resume.
#pragma once
#include <string>

#include "config/config.hpp"

namespace nmt {

struct TrainOptions {
  bool resume = false;
  std::string resume_from;  // a checkpoint path; empty = the model directory's latest
  bool overwrite = false;
};

// Returns 0, or 128+signal when stopped by SIGINT/SIGTERM after writing a checkpoint.
int train(const Config& config, const TrainOptions& options);

}  // namespace nmt
