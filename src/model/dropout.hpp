// Inverted dropout as torch::dropout computes it, with the CPU mask drawn by Philox in parallel:
// torch's CPU bernoulli_ draws one element at a time on one thread (about 10 ns each, 3% of a
// bench-gru step). The mask depends only on the default generator's state, which advances by one
// draw per call, and on each element's index, so it does not depend on the number of threads and
// a resumed run draws the same masks.
#pragma once
#include <torch/torch.h>

namespace nmt {

torch::Tensor philox_dropout(const torch::Tensor& input, double p, bool training);

// With a registered torch::nn::Dropout's probability and training flag.
inline torch::Tensor philox_dropout(const torch::nn::Dropout& module, const torch::Tensor& input) {
  return philox_dropout(input, module->options.p(), module->is_training());
}

}  // namespace nmt
