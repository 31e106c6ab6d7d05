// Optimizer construction and the learning-rate schedules.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "config/config.hpp"

namespace nmt {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainingConfig& config,
                                                        const std::vector<torch::Tensor>& parameters);
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);
// torch::nn::utils::clip_grad_norm_ before the optimizer's next step; FusedAdam applies the
// scale inside its own pass over the gradients.
void clip_gradient_norm(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& parameters,
                        double max_norm);

// constant | plateau (decay when the validation metric stops improving) | inverse_sqrt (with warmup)
// | cosine (down to min_lr at max_steps or at the end of the max_minutes budget, whichever comes first;
// with anneal_from, lr holds until that fraction of the run).
class LrSchedule {
 public:
  explicit LrSchedule(const TrainingConfig& config) : config_(config), plateau_lr_(config.lr) {}
  // step counts from 1; training_seconds (validations included, as the time budget counts them)
  // only matters for a cosine schedule over max_minutes.
  double lr_at(int64_t step, double training_seconds = 0) const;
  // Reports a validation metric (lower is better); returns true when the plateau rule decayed.
  bool on_validation(double metric);
  nlohmann::json state() const;
  void restore(const nlohmann::json& state);

 private:
  TrainingConfig config_;
  double plateau_lr_;
  double best_ = std::numeric_limits<double>::infinity();
  int64_t bad_validations_ = 0;
};

}  // namespace nmt
