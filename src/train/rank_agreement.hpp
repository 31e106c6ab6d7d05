// What the ranks of a data-parallel run agree on: rank 0's setup and parameters before they
// train together, who goes first, and before each step its tokens, stop signal and clock.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>

#include "config/config.hpp"
#include "distributed/process_group.hpp"

namespace nmt {

// Rank 0 does `work`; the others go on once it has, or stop with its error.
void root_first(ProcessGroup& group, const std::string& key, double timeout_seconds, const std::function<void()>& work);

// Rank 0's resolved config and data vocabularies are the reference; a rank that differs says
// how, and every rank stops.
void check_same_setup(ProcessGroup& group, const Config& config);

// Every rank ends the run unless all ranks hold the same parameters, bit for bit.
void check_parameters_agree(ProcessGroup& group, torch::nn::Module& model, const char* when);

struct StepAgreement {
  int64_t tokens = 0;    // target tokens of the whole batch: the gradient's divisor
  int stop_signal = 0;   // a SIGINT/SIGTERM that reached any rank
  bool budget_spent = false;  // rank 0's clock decides training.max_minutes
  double seconds = 0;         // rank 0's training time: time-based schedules read it
  double wait_seconds = 0;    // this rank's time in the agreement, waiting for the slowest included
};

// One small allreduce. Only rank 0's `budget_spent` and `training_seconds` count, so a
// time-based schedule gives the same learning rate everywhere.
StepAgreement agree_on_step(ProcessGroup& group, int64_t tokens, bool budget_spent, double training_seconds,
                            int stop_signal);

}  // namespace nmt
