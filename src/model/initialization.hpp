// How a new model's weights start: LibTorch's per-layer defaults, or all uniform in ±range.
#pragma once
#include <torch/torch.h>

namespace nmt {

// model.init_uniform > 0: every parameter (embeddings, weights, biases) uniform in ±range, as
// OpenNMT-py's param_init and JoeyNMT's uniform initializer start them; padding rows stay zero.
// Draws from the global generator, which training seeds before building the model.
inline void initialize_uniform(torch::nn::Module& module, double range) {
  if (range <= 0) return;
  torch::NoGradGuard no_grad;
  for (auto& parameter : module.parameters()) parameter.uniform_(-range, range);
  for (const auto& child : module.modules(/*include_self=*/false)) {  // called from a constructor
    if (const auto* embedding = child->as<torch::nn::Embedding>(); embedding && embedding->options.padding_idx())
      embedding->weight[*embedding->options.padding_idx()].zero_();
  }
}

}  // namespace nmt
