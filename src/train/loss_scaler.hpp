// Dynamic loss scaling, as PyTorch's GradScaler does it and through the same _amp_* ops: fp16
// gradients below 2^-24 vanish, so the loss is multiplied up before the backward pass and the
// gradients divided back before clipping and the update; a step whose gradients overflowed is
// skipped and the scale halved, and the scale doubles after a run of finite steps.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "config/config.hpp"
#include "model/precision.hpp"

namespace nmt {

class LossScaler {
 public:
  // On for training.loss_scaling dynamic, or auto with fp16 products. Throws where the ops
  // cannot run: the CPU of a LibTorch older than 2.3 has no kernels for them.
  LossScaler(const TrainingConfig& config, Precision precision, const torch::Device& device);

  bool enabled() const { return enabled_; }
  // The factor the loss is multiplied by: 1 when off.
  double factor() const { return enabled_ ? factor_ : 1.0; }
  // Divides the gradients of `parameters` by the factor; false when one of them holds an inf or
  // a NaN, and the step must then be skipped. Needs a call of update() after it.
  bool unscale(const std::vector<torch::Tensor>& parameters);
  // Halves the factor after an overflow, doubles it after growth_interval finite steps in a row.
  void update();
  int64_t skipped_steps() const { return skipped_; }

  // For checkpoints: resumed runs continue with the same factor and count.
  nlohmann::json state() const;
  void restore(const nlohmann::json& state);

 private:
  bool enabled_ = false;
  int64_t growth_interval_ = 2000;
  torch::Tensor scale_, growth_tracker_, found_inf_;
  double factor_ = 1.0;
  int64_t skipped_ = 0;
};

}  // namespace nmt
