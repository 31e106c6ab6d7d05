// The output layer and the cross-entropy as one step. In bf16 on the CPU the logits stay the bf16
// product: the loss rows add the bias as they read it and write the gradient in bf16 for the
// backward products, so no float copy of the largest tensor of a training step is made, kept or
// read back. Elsewhere it is the output layer's product followed by cross_entropy_sum.
#pragma once
#include <torch/torch.h>

#include "model/decoder.hpp"

namespace nmt {

// Summed cross-entropy of the logits readout.features @ readout.weight^T + readout.bias against
// targets (N), PAD ignored; the same value and gradients as the two steps apart, where bf16 rounds
// the product the same way.
torch::Tensor output_cross_entropy_sum(const Readout& readout, const torch::Tensor& targets,
                                       double label_smoothing = 0.0);

}  // namespace nmt
