// The per-row arithmetic of the CPU cross-entropy (scoring/cross_entropy.hpp) on row-major float
// arrays, for rows [first, last): two passes over a row's logits forward and one backward, where
// the tensor-op version makes one pass per op. Compiled per vector width and chosen at load time;
// exp uses the vector math library (fast-math), so results differ from torch's in the last bits.
#pragma once
#include <cstdint>

namespace nmt {

// logits and exp_shifted (rows, vocab); targets, inv_sum and loss (rows). exp_shifted gets
// exp(x - max x) of each row and inv_sum one over its sum; loss gets each row's
// (1 - smoothing) * -log p[target] + smoothing * mean over the vocabulary of -log p, or 0 where the
// target is pad.
void cross_entropy_forward(int64_t first, int64_t last, int64_t vocab, const float* logits, const int64_t* targets,
                           int64_t pad, float smoothing, float* exp_shifted, float* inv_sum, float* loss);

// grad (rows, vocab) gets scale * (p - (1 - smoothing) * onehot(target) - smoothing / vocab) per
// row, p = exp_shifted * inv_sum, and 0 on pad rows.
void cross_entropy_backward(int64_t first, int64_t last, int64_t vocab, const float* exp_shifted,
                            const float* inv_sum, const int64_t* targets, int64_t pad, float smoothing, float scale,
                            float* grad);

}  // namespace nmt
