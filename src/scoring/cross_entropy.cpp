#include "scoring/cross_entropy.hpp"

#include <ATen/Parallel.h>

#include "data/special_tokens.hpp"
#include "model/cpu_fast_paths.hpp"
#include "scoring/cross_entropy_kernels.hpp"

namespace nmt {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// loss = sum over rows with a real target of (1 - e) * -log p[target] + e * mean over the
// vocabulary of -log p; its gradient is scale * (p - (1 - e) * onehot - e / V). The forward pass
// keeps the softmax for the backward pass, which then needs no exp of its own. log p comes from
// the row's largest logit, whose probability is at least 1 / V, so it never underflows:
// log p[j] = x[j] - x[max] + log p[max]. This tensor-op version serves devices other than the CPU
// and types other than float.
class CrossEntropySum : public torch::autograd::Function<CrossEntropySum> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& logits, const Tensor& targets, double smoothing) {
    const Tensor probs = torch::softmax(logits, 1);
    const auto [top, top_index] = logits.max(1, /*keepdim=*/true);
    const Tensor log_normalizer = top - probs.gather(1, top_index).log();  // (N, 1): log sum exp of the row
    const Tensor real = targets.ne(kPad).to(logits.scalar_type());
    const Tensor target_log_probs = (logits.gather(1, targets.unsqueeze(1)) - log_normalizer).squeeze(1);
    Tensor loss = -(1 - smoothing) * (target_log_probs * real).sum();
    if (smoothing > 0) {
      const auto vocab = static_cast<double>(logits.size(1));
      const Tensor mean_log_probs = logits.sum(1) / vocab - log_normalizer.squeeze(1);
      loss = loss - smoothing * (mean_log_probs * real).sum();
    }
    ctx->save_for_backward({probs, targets, real});
    ctx->saved_data["smoothing"] = smoothing;
    return loss;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &probs = saved[0], &targets = saved[1], &real = saved[2];
    const double smoothing = ctx->saved_data["smoothing"].toDouble();
    const Tensor scale = (real * grads[0]).unsqueeze(1);  // (N, 1): zero on ignored rows
    Tensor grad = smoothing > 0 ? (probs - smoothing / static_cast<double>(probs.size(1))).mul_(scale) : probs * scale;
    grad.scatter_add_(1, targets.unsqueeze(1), scale * -(1 - smoothing));
    return {grad, Tensor(), Tensor()};
  }
};

// The same on CPU floats, by the row kernels; the row losses are added in row order, so the sum
// does not depend on the thread count.
class CpuCrossEntropySum : public torch::autograd::Function<CpuCrossEntropySum> {
 public:
  static constexpr int64_t kGrain = 16;  // rows per task

  static Tensor forward(AutogradContext* ctx, const Tensor& logits_in, const Tensor& targets_in, double smoothing) {
    const Tensor logits = logits_in.contiguous(), targets = targets_in.contiguous();
    const int64_t rows = logits.size(0), vocab = logits.size(1);
    check_targets_in_vocabulary(targets, vocab, "cross_entropy_sum");
    Tensor exp_shifted = torch::empty_like(logits), inv_sum = torch::empty({rows}, logits.options());
    std::vector<float> row_loss(static_cast<size_t>(rows));
    at::parallel_for(0, rows, kGrain, [&](int64_t first, int64_t last) {
      cross_entropy_forward(first, last, vocab, logits.data_ptr<float>(), targets.data_ptr<int64_t>(), kPad,
                            static_cast<float>(smoothing), exp_shifted.data_ptr<float>(), inv_sum.data_ptr<float>(),
                            row_loss.data());
    });
    double loss = 0;
    for (const float value : row_loss) loss += value;
    ctx->save_for_backward({exp_shifted, inv_sum, targets});
    ctx->saved_data["smoothing"] = smoothing;
    return torch::tensor(static_cast<float>(loss), logits.options());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &exp_shifted = saved[0], &inv_sum = saved[1], &targets = saved[2];
    const auto smoothing = static_cast<float>(ctx->saved_data["smoothing"].toDouble());
    const auto scale = grads[0].item<float>();
    const int64_t rows = exp_shifted.size(0), vocab = exp_shifted.size(1);
    Tensor grad = torch::empty_like(exp_shifted);
    at::parallel_for(0, rows, kGrain, [&](int64_t first, int64_t last) {
      cross_entropy_backward(first, last, vocab, exp_shifted.data_ptr<float>(), inv_sum.data_ptr<float>(),
                             targets.data_ptr<int64_t>(), kPad, smoothing, scale, grad.data_ptr<float>());
    });
    return {grad, Tensor(), Tensor()};
  }
};

}  // namespace

void check_targets_in_vocabulary(const torch::Tensor& targets, int64_t vocab, const char* loss) {
  TORCH_CHECK(targets.numel() == 0 || (targets.min().item<int64_t>() >= 0 && targets.max().item<int64_t>() < vocab),
              loss, ": a target is outside the vocabulary of ", vocab);
}

torch::Tensor cross_entropy_sum(const torch::Tensor& logits, const torch::Tensor& targets, double label_smoothing) {
  if (logits.device().is_cpu() && logits.scalar_type() == torch::kFloat && cpu_fast_paths_enabled())
    return CpuCrossEntropySum::apply(logits, targets, label_smoothing);
  return CrossEntropySum::apply(logits, targets, label_smoothing);
}

}  // namespace nmt
