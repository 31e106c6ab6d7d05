#include "train/fused_adam.hpp"

#include <ATen/Parallel.h>

#include <cmath>

#include "model/cpu_fast_paths.hpp"
#include "runtime/torch_compat.hpp"
#include "runtime/vector_clones.hpp"

namespace nmt {

namespace {

struct AdamStep {
  float beta1, beta2, eps, weight_decay, step_size, correction2_sqrt, gradient_scale;
};

// The sqrt and division per element dominate the update; compiled once per vector width and
// chosen at load time, so a CPU with AVX-512 does them 16 at a time while the binary still runs
// anywhere. The CPU picks the clone, so a resumed run on the same machine stays bit-exact.
NMT_VECTOR_CLONES void adam_update(
    const AdamStep s, float* __restrict param, const float* __restrict grad, float* __restrict exp_avg,
    float* __restrict exp_avg_sq, int64_t count) {
  const float beta1 = s.beta1, beta2 = s.beta2, eps = s.eps, decay = s.weight_decay, step_size = s.step_size,
              correction = s.correction2_sqrt, scale = s.gradient_scale;
  for (int64_t i = 0; i < count; ++i) {
    const float g = grad[i] * scale + decay * param[i];
    const float m = exp_avg[i] * beta1 + (1 - beta1) * g;
    const float v = exp_avg_sq[i] * beta2 + (1 - beta2) * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    param[i] -= step_size * m / (std::sqrt(v) / correction + eps);
  }
}

bool fusable(const torch::Tensor& p) {
  return p.device().is_cpu() && p.scalar_type() == torch::kFloat && p.is_contiguous() && p.grad().is_contiguous() &&
         cpu_fast_paths_enabled();
}
}  // namespace

torch::Tensor FusedAdam::step(LossClosure closure) {
  torch::Tensor scale;
  std::swap(scale, gradient_scale_);
  bool all_fusable = true;
  for (const auto& group : param_groups())
    for (const auto& p : group.params()) all_fusable = all_fusable && (!p.grad().defined() || fusable(p));
  if (!all_fusable) {
    if (scale.defined()) {
      torch::NoGradGuard no_grad;
      for (const auto& group : param_groups())
        for (const auto& p : group.params())
          if (p.grad().defined()) p.grad().mul_(scale);
    }
    return torch::optim::Adam::step(closure);
  }
  torch::NoGradGuard no_grad;
  const float gradient_scale = scale.defined() ? scale.item<float>() : 1.0f;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    TORCH_CHECK(!options.amsgrad(), "FusedAdam does not implement amsgrad");
    const float beta1 = static_cast<float>(std::get<0>(options.betas()));
    const float beta2 = static_cast<float>(std::get<1>(options.betas()));
    const float eps = static_cast<float>(options.eps());
    const float weight_decay = static_cast<float>(options.weight_decay());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = state_[optimizer_state_key(p)];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<torch::optim::AdamParamState&>(*slot);
      state.step(state.step() + 1);
      const double bias_correction1 = 1 - std::pow(std::get<0>(options.betas()), state.step());
      const double bias_correction2 = 1 - std::pow(std::get<1>(options.betas()), state.step());
      const float step_size = static_cast<float>(options.lr() / bias_correction1);
      const float correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
      float* param = p.data_ptr<float>();
      const float* grad = p.grad().data_ptr<float>();
      float* exp_avg = state.exp_avg().data_ptr<float>();
      float* exp_avg_sq = state.exp_avg_sq().data_ptr<float>();
      const AdamStep step{beta1, beta2, eps, weight_decay, step_size, correction2_sqrt, gradient_scale};
      at::parallel_for(0, p.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
        adam_update(step, param + begin, grad + begin, exp_avg + begin, exp_avg_sq + begin, end - begin);
      });
    }
  }
  return loss;
}

}  // namespace nmt
