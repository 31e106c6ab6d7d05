// Summed cross-entropy with label smoothing, as torch's cross_entropy computes it (PAD targets
// ignored), in fewer passes over the logits: the forward pass keeps the softmax, and the backward
// pass scales it into the gradient in one step, where torch runs nll_loss's backward (a zeroed
// logits-sized tensor and a scatter) and then log_softmax's (with an exp per logit). The output
// layer's logits are the largest tensor of a step, so each pass over them counts. On CPU floats
// row kernels do it in two passes forward and one backward (scoring/cross_entropy_kernels.hpp).
#pragma once
#include <torch/torch.h>

namespace nmt {

// logits (N, V) float, targets (N) int64.
torch::Tensor cross_entropy_sum(const torch::Tensor& logits, const torch::Tensor& targets, double label_smoothing = 0.0);

// Throws (c10::Error, naming `loss`) unless every target id is in [0, vocab): the row kernels index by it.
void check_targets_in_vocabulary(const torch::Tensor& targets, int64_t vocab, const char* loss);

}  // namespace nmt
