// Adam with the whole update in one pass over each parameter (CPU, float32). torch's Adam runs
// about eight separate elementwise ops, each streaming the 10M-parameter state through memory.
// State and checkpoints are torch::optim::Adam's own; other devices and dtypes use its step().
#pragma once
#include <torch/torch.h>

namespace nmt {

class FusedAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;
  // The next step reads every gradient multiplied by `scale` (a 0-dim tensor): gradient clipping
  // without a pass of its own over the gradients.
  void scale_next_gradients(torch::Tensor scale) { gradient_scale_ = std::move(scale); }

 private:
  torch::Tensor gradient_scale_;
};

}  // namespace nmt
