// Exponential moving average of the parameters (Polyak averaging; Marian's "exponential
// smoothing"). Training updates the live weights; validation, checkpoints and decoding use the
// average, which is smoother than any single step's weights late in a run with a high learning rate.
#pragma once
#include <torch/torch.h>

#include <string>

#include "bundle/checkpoint.hpp"

namespace nmt {

class ParameterAverage {
 public:
  ParameterAverage(torch::nn::Module& model, double decay);
  // After each optimizer step.
  void update();
  int64_t updates() const { return updates_; }
  // Puts the average into the parameters and keeps the live values aside; nested calls are no-ops.
  void swap_in();
  void swap_out();
  bool swapped_in() const { return !live_.empty(); }
  // The live (training) values while the average is swapped in, keyed for a checkpoint archive.
  const NamedTensors& live_weights() const { return live_; }
  // Resuming: the parameters hold the average after `updates` updates; `live` (from checkpoint
  // `source`) are the weights to train on. An empty `live` (a checkpoint written without
  // averaging) starts the average afresh from the parameters.
  void restore(int64_t updates, const NamedTensors& live, const std::string& source);

 private:
  std::vector<std::pair<std::string, torch::Tensor>> parameters_;  // (archive key, parameter)
  // The bias-corrected average itself (as Adam corrects its moments, so the random initialisation
  // carries no weight): the state a checkpoint stores exactly, so resuming is bit-identical.
  std::vector<torch::Tensor> average_;
  NamedTensors live_;
  double decay_;
  int64_t updates_ = 0;
};

// Copies `values` (keyed as live_weights() keys them) into the model's parameters; every one must be
// present with its shape, else the error names `source`.
void load_named_parameters(torch::nn::Module& model, const NamedTensors& values, const std::string& source);

// Swaps the average in for the lifetime of the scope, when there is one.
class AveragedWeightsScope {
 public:
  explicit AveragedWeightsScope(ParameterAverage* average)
      : average_(average && !average->swapped_in() ? average : nullptr) {
    if (average_) average_->swap_in();
  }
  ~AveragedWeightsScope() {
    if (average_) average_->swap_out();
  }
  AveragedWeightsScope(const AveragedWeightsScope&) = delete;
  AveragedWeightsScope& operator=(const AveragedWeightsScope&) = delete;

 private:
  ParameterAverage* average_;
};

}  // namespace nmt
