#include "scoring/cross_entropy_kernels.hpp"

#include <algorithm>
#include <cmath>

#include "runtime/bf16_bits.hpp"
#include "runtime/vector_clones.hpp"

namespace nmt {
namespace {

// (1 - smoothing) * -log p[target] + smoothing * mean over the vocabulary of -log p, from the
// target's logit, the row's mean logit and log sum exp.
inline float row_loss(float target_logit, float mean_logit, float log_normalizer, float smoothing) {
  return -(1.0f - smoothing) * (target_logit - log_normalizer) - smoothing * (mean_logit - log_normalizer);
}

}  // namespace

// log p[j] = x[j] - (max + log sum), and the sum is at least 1 (the maximum's term), so no row
// underflows to log 0.
NMT_VECTOR_CLONES void cross_entropy_forward(int64_t first, int64_t last, int64_t vocab,
                                             const float* __restrict logits, const int64_t* __restrict targets,
                                             int64_t pad, float smoothing, float* __restrict exp_shifted,
                                             float* __restrict inv_sum, float* __restrict loss) {
  for (int64_t row = first; row < last; ++row) {
    const float* x = logits + row * vocab;
    float* e = exp_shifted + row * vocab;
    float top = x[0], total = 0.0f;
    for (int64_t j = 0; j < vocab; ++j) {
      top = std::max(top, x[j]);
      total += x[j];
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < vocab; ++j) {
      e[j] = std::exp(x[j] - top);
      sum += e[j];
    }
    inv_sum[row] = 1.0f / sum;
    const int64_t target = targets[row];
    if (target == pad) {
      loss[row] = 0.0f;
      continue;
    }
    const float log_normalizer = top + std::log(sum);
    loss[row] = row_loss(x[target], total / static_cast<float>(vocab), log_normalizer, smoothing);
  }
}

NMT_VECTOR_CLONES void cross_entropy_backward(int64_t first, int64_t last, int64_t vocab,
                                              const float* __restrict exp_shifted, const float* __restrict inv_sum,
                                              const int64_t* __restrict targets, int64_t pad, float smoothing,
                                              float scale, float* __restrict grad) {
  const float uniform = smoothing / static_cast<float>(vocab);
  for (int64_t row = first; row < last; ++row) {
    float* g = grad + row * vocab;
    const int64_t target = targets[row];
    if (target == pad) {
      std::fill(g, g + vocab, 0.0f);
      continue;
    }
    const float* e = exp_shifted + row * vocab;
    const float factor = scale * inv_sum[row], offset = scale * uniform;
    for (int64_t j = 0; j < vocab; ++j) g[j] = e[j] * factor - offset;
    g[target] -= scale * (1.0f - smoothing);
  }
}

NMT_VECTOR_CLONES void cross_entropy_forward_bf16(int64_t first, int64_t last, int64_t vocab,
                                                  const uint16_t* __restrict product, const float* __restrict bias,
                                                  const int64_t* __restrict targets, int64_t pad, float smoothing,
                                                  float* __restrict top, float* __restrict inv_sum,
                                                  float* __restrict loss) {
  for (int64_t row = first; row < last; ++row) {
    const uint16_t* x = product + row * vocab;
    float row_top = widen_bf16(x[0]) + bias[0], total = 0.0f;
    for (int64_t j = 0; j < vocab; ++j) {
      const float logit = widen_bf16(x[j]) + bias[j];
      row_top = std::max(row_top, logit);
      total += logit;
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < vocab; ++j) sum += std::exp(widen_bf16(x[j]) + bias[j] - row_top);
    top[row] = row_top;
    inv_sum[row] = 1.0f / sum;
    const int64_t target = targets[row];
    if (target == pad) {
      loss[row] = 0.0f;
      continue;
    }
    const float log_normalizer = row_top + std::log(sum);
    loss[row] = row_loss(widen_bf16(x[target]) + bias[target], total / static_cast<float>(vocab), log_normalizer,
                         smoothing);
  }
}

NMT_VECTOR_CLONES void cross_entropy_backward_bf16(int64_t first, int64_t last, int64_t vocab,
                                                   const uint16_t* __restrict product, const float* __restrict bias,
                                                   const float* __restrict top, const float* __restrict inv_sum,
                                                   const int64_t* __restrict targets, int64_t pad, float smoothing,
                                                   float scale, uint16_t* __restrict grad,
                                                   float* __restrict bias_grad) {
  const float uniform = smoothing / static_cast<float>(vocab);
  for (int64_t row = first; row < last; ++row) {
    uint16_t* g = grad + row * vocab;
    const int64_t target = targets[row];
    if (target == pad) {
      std::fill(g, g + vocab, uint16_t{0});
      continue;
    }
    const uint16_t* x = product + row * vocab;
    const float factor = scale * inv_sum[row], offset = scale * uniform, row_top = top[row];
    const float target_grad = std::exp(widen_bf16(x[target]) + bias[target] - row_top) * factor - offset -
                              scale * (1.0f - smoothing);
    for (int64_t j = 0; j < vocab; ++j) {
      const float value = std::exp(widen_bf16(x[j]) + bias[j] - row_top) * factor - offset;
      g[j] = narrow_to_bf16(value);
      bias_grad[j] += value;
    }
    g[target] = narrow_to_bf16(target_grad);
    bias_grad[target] -= scale * (1.0f - smoothing);
  }
}

}  // namespace nmt
