// Attention over encoder memory, masked on source padding: dot, general (Luong) or mlp (Bahdanau).
#pragma once
#include <torch/torch.h>

#include "model/int8_weights.hpp"

namespace nmt {

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const std::string& kind, int64_t query_size, int64_t memory_size);
  // What scoring needs from the memory, computed once per sentence (mlp: projected keys).
  torch::Tensor prepare_keys(const torch::Tensor& memory);
  // query (B, T, Q), memory (B, S, M), keys from prepare_keys, mask (B, S).
  // Returns context (B, T, M) and weights (B, T, S).
  std::tuple<torch::Tensor, torch::Tensor> forward(const torch::Tensor& query, const torch::Tensor& memory,
                                                   const torch::Tensor& keys, const torch::Tensor& mask);
  // The query and key projections, for int8 decoding (the scores multiply activations: they stay fp32).
  void add_int8_matrices(Int8Weights& weights) const;

 private:
  std::string kind_;
  torch::nn::Linear query_projection_{nullptr}, key_projection_{nullptr}, score_{nullptr};
};
TORCH_MODULE(Attention);

}  // namespace nmt
