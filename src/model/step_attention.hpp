// Attention for one query per row, as a decoding step asks it (dot or general scores): each row's
// scores, softmax and context in one pass over that row's own source positions, so a row's result
// never depends on the other rows of its batch or on how far they pad the source. LibTorch's
// batched products sum over the padded length instead, which changes their last bits with the batch.
#pragma once
#include <torch/torch.h>

#include <tuple>

namespace nmt {

// query (B, M) fp32, memory (B, S, M) fp32 (the keys as well, as in dot and general attention),
// mask (B, S) bool, true on real tokens. Returns context (B, M) and weights (B, S), 0 on padding,
// on the CPU; a row without a real position gets zeros.
std::tuple<torch::Tensor, torch::Tensor> step_attention(const torch::Tensor& query, const torch::Tensor& memory,
                                                        const torch::Tensor& mask);

}  // namespace nmt
