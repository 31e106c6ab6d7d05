#include "scoring/cross_entropy.hpp"

#include "data/special_tokens.hpp"

namespace nmt {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// loss = sum over rows with a real target of (1 - e) * -log p[target] + e * mean over the
// vocabulary of -log p; its gradient is scale * (p - (1 - e) * onehot - e / V). The forward pass
// keeps the softmax for the backward pass, which then needs no exp of its own. log p comes from
// the row's largest logit, whose probability is at least 1 / V, so it never underflows:
// log p[j] = x[j] - x[max] + log p[max].
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

}  // namespace

torch::Tensor cross_entropy_sum(const torch::Tensor& logits, const torch::Tensor& targets, double label_smoothing) {
  return CrossEntropySum::apply(logits, targets, label_smoothing);
}

}  // namespace nmt
