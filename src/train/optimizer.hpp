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

// constant | plateau (decay when the validation metric stops improving) | inverse_sqrt (with warmup).
class LrSchedule {
 public:
  explicit LrSchedule(const TrainingConfig& config) : config_(config), plateau_lr_(config.lr) {}
  double lr_at(int64_t step) const;  // step counts from 1
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
