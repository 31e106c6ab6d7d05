// The per-row arithmetic of the CPU cross-entropy (scoring/cross_entropy.hpp) on row-major float
// arrays, for rows [first, last): two passes over a row's logits forward and one backward, where
// the tensor-op version makes one pass per op. Compiled per vector width and chosen at load time;
// exp uses the vector math library (fast-math), so results differ from torch's in the last bits.
// The bf16 pair reads a bf16 product and adds the bias itself, so no float logits are written.
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

// The same for the logits bf16(product)[j] + bias[j], product (rows, vocab) as bf16 bits: each row's
// max goes to `top` and one over its sum of exp(x - max) to inv_sum; no exp values are stored.
void cross_entropy_forward_bf16(int64_t first, int64_t last, int64_t vocab, const uint16_t* product,
                                const float* bias, const int64_t* targets, int64_t pad, float smoothing, float* top,
                                float* inv_sum, float* loss);

// grad (rows, vocab, bf16 bits, rounded to nearest even) gets cross_entropy_backward's gradient,
// recomputed from the product, bias, top and inv_sum; bias_grad (vocab) adds the float gradient of
// each of the rows.
void cross_entropy_backward_bf16(int64_t first, int64_t last, int64_t vocab, const uint16_t* product,
                                 const float* bias, const float* top, const float* inv_sum, const int64_t* targets,
                                 int64_t pad, float smoothing, float scale, uint16_t* grad, float* bias_grad);

}  // namespace nmt
