// Token cross-entropy, the loss training minimises and validation reports.
#pragma once
#include <torch/torch.h>

#include <cstdint>

#include "scoring/cross_entropy.hpp"

namespace nmt {

struct LossTotal {
  double sum = 0;  // nats
  int64_t tokens = 0;
  double mean() const { return tokens ? sum / static_cast<double>(tokens) : 0.0; }
  double perplexity() const;
};

// Summed token cross-entropy of logits (B, T, V) against tgt_out (T, B), ignoring PAD.
torch::Tensor token_loss_sum(const torch::Tensor& logits, const torch::Tensor& tgt_out, double label_smoothing = 0.0);

}  // namespace nmt
