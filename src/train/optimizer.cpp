#include "train/optimizer.hpp"

#include <algorithm>
#include <cmath>

#include "train/fused_adam.hpp"

namespace nmt {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainingConfig& config,
                                                        const std::vector<torch::Tensor>& parameters) {
  if (config.optimizer == "adam")
    return std::make_unique<FusedAdam>(
        parameters, torch::optim::AdamOptions(config.lr).betas({config.beta1, config.beta2}).weight_decay(config.weight_decay));
  if (config.optimizer == "adamw")
    return std::make_unique<torch::optim::AdamW>(
        parameters, torch::optim::AdamWOptions(config.lr).betas({config.beta1, config.beta2}).weight_decay(config.weight_decay));
  return std::make_unique<torch::optim::SGD>(
      parameters, torch::optim::SGDOptions(config.lr).momentum(config.momentum).weight_decay(config.weight_decay));
}

void clip_gradient_norm(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& parameters,
                        double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : parameters)
    if (p.grad().defined()) norms.push_back(p.grad().norm());
  if (norms.empty()) return;
  // torch::nn::utils::clip_grad_norm_'s coefficient, without a host sync.
  const auto scale = torch::clamp(max_norm / (torch::stack(norms).norm() + 1e-6), c10::nullopt, 1.0);
  if (auto* adam = dynamic_cast<FusedAdam*>(&optimizer)) {
    adam->scale_next_gradients(scale);
    return;
  }
  for (const auto& p : parameters)
    if (p.grad().defined()) p.grad().mul_(scale);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

double LrSchedule::lr_at(int64_t step, double training_seconds) const {
  if (config_.lr_schedule == "inverse_sqrt") {
    const double warmup = static_cast<double>(std::max<int64_t>(1, config_.warmup_steps));
    const double s = static_cast<double>(std::max<int64_t>(1, step));
    return config_.lr * std::min(s / warmup, std::sqrt(warmup / s));
  }
  if (config_.lr_schedule == "cosine" && step >= config_.warmup_steps) {
    // Half a cosine from lr down to min_lr over the run after warm-up (or over its part after
    // anneal_from): a run whose length is fixed in advance, in steps or in minutes, ends annealed.
    double progress = 0;
    if (config_.max_steps > 0)
      progress = static_cast<double>(step - config_.warmup_steps) /
                 static_cast<double>(config_.max_steps - config_.warmup_steps);
    if (config_.max_minutes > 0) progress = std::max(progress, training_seconds / config_.budget_seconds());
    progress = std::clamp((progress - config_.anneal_from) / (1.0 - config_.anneal_from), 0.0, 1.0);
    return config_.min_lr + (config_.lr - config_.min_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
  }
  double lr = config_.lr_schedule == "plateau" ? plateau_lr_ : config_.lr;
  if (config_.warmup_steps > 0 && step < config_.warmup_steps)
    lr *= static_cast<double>(step) / static_cast<double>(config_.warmup_steps);
  return lr;
}

bool LrSchedule::on_validation(double metric) {
  if (metric < best_) {
    best_ = metric;
    bad_validations_ = 0;
    return false;
  }
  if (config_.lr_schedule != "plateau" || ++bad_validations_ <= config_.lr_patience) return false;
  bad_validations_ = 0;
  plateau_lr_ = std::max(config_.min_lr, plateau_lr_ * config_.lr_decay);
  return true;
}

nlohmann::json LrSchedule::state() const {
  return {{"plateau_lr", plateau_lr_}, {"best", best_}, {"bad_validations", bad_validations_}};
}

void LrSchedule::restore(const nlohmann::json& state) {
  plateau_lr_ = state.at("plateau_lr").get<double>();
  best_ = state.at("best").is_null() ? std::numeric_limits<double>::infinity() : state.at("best").get<double>();
  bad_validations_ = state.at("bad_validations").get<int64_t>();
}

}  // namespace nmt
