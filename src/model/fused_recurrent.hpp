// A fast path for torch::nn::LSTM and GRU layers: one autograd node per layer and window instead
// of a graph of per-step cell operations. The forward pass keeps the per-step recurrent GEMM but
// computes the input projection for all steps at once; the backward pass computes the weight
// gradients and the input gradient as single large GEMMs over the whole window (the per-step
// autograd graph does one small GEMM per step for each). The weights stay the nn:: module's own
// parameters, so checkpoints are unchanged, and the module remains the reference it is tested against.
#pragma once
#include <torch/torch.h>

namespace nmt {

struct RecurrentLayerWeights {
  torch::Tensor w_ih, w_hh, b_ih, b_hh;  // PyTorch layout: LSTM gates i, f, g, o; GRU gates r, z, n
};

// x (T, B, I); h0, c0 (B, H). Returns the outputs (T, B, H) and the final h and c (B, H).
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> fused_lstm_layer(const torch::Tensor& x, const torch::Tensor& h0,
                                                                        const torch::Tensor& c0,
                                                                        const RecurrentLayerWeights& weights);
// x (T, B, I); h0 (B, H). Returns the outputs (T, B, H) and the final h (B, H).
std::tuple<torch::Tensor, torch::Tensor> fused_gru_layer(const torch::Tensor& x, const torch::Tensor& h0,
                                                         const RecurrentLayerWeights& weights);

}  // namespace nmt
