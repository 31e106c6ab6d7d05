#include "scoring/cross_entropy_kernels.hpp"

#include <algorithm>
#include <cmath>

#include "runtime/vector_clones.hpp"

namespace nmt {

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
    loss[row] = -(1.0f - smoothing) * (x[target] - log_normalizer) -
                smoothing * (total / static_cast<float>(vocab) - log_normalizer);
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

}  // namespace nmt
