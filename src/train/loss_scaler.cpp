#include "train/loss_scaler.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "runtime/torch_compat.hpp"

namespace nmt {

namespace {
constexpr double kGrowthFactor = 2.0, kBackoffFactor = 0.5;  // powers of two keep the scaling exact
}

LossScaler::LossScaler(const TrainingConfig& config, Precision precision, const torch::Device& device)
    : enabled_(config.loss_scaling == "dynamic" || (config.loss_scaling == "auto" && precision == Precision::fp16)),
      growth_interval_(config.loss_scale_growth_interval),
      factor_(config.loss_scale_init) {
  if (!enabled_) return;
  if (device.is_cpu() && !amp_ops_on_cpu())
    throw std::runtime_error("training.loss_scaling: dynamic loss scaling on the CPU needs LibTorch 2.3 or later "
                             "(this is " TORCH_VERSION "), whose _amp_* ops have CPU kernels; it runs on CUDA");
  const auto floats = torch::TensorOptions().dtype(torch::kFloat).device(device);
  scale_ = torch::full({1}, factor_, floats);
  growth_tracker_ = torch::zeros({1}, floats.dtype(torch::kInt));
  found_inf_ = torch::zeros({1}, floats);
}

bool LossScaler::unscale(const std::vector<torch::Tensor>& parameters) {
  if (!enabled_) return true;
  std::vector<torch::Tensor> grads;
  for (const auto& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  torch::NoGradGuard no_grad;
  found_inf_.zero_();
  at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf_, scale_.reciprocal());
  const bool finite = found_inf_.item<float>() == 0.0f;
  if (!finite) {
    ++skipped_;
    spdlog::debug("gradients overflowed at loss scale {}: the step is skipped", factor_);
  }
  return finite;
}

void LossScaler::update() {
  if (!enabled_) return;
  at::_amp_update_scale_(scale_, growth_tracker_, found_inf_, kGrowthFactor, kBackoffFactor, growth_interval_);
  factor_ = scale_.item<double>();
}

nlohmann::json LossScaler::state() const {
  if (!enabled_) return nullptr;
  return {{"scale", factor_}, {"growth_tracker", growth_tracker_.item<int64_t>()}, {"skipped_steps", skipped_}};
}

void LossScaler::restore(const nlohmann::json& state) {
  if (!enabled_ || state.is_null()) return;
  factor_ = state.at("scale").get<double>();
  scale_.fill_(factor_);
  growth_tracker_.fill_(state.at("growth_tracker").get<int64_t>());
  skipped_ = state.value("skipped_steps", int64_t{0});
}

}  // namespace nmt
