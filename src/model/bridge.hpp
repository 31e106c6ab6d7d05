// Turns the encoder's final state into the decoder's initial state.
#pragma once
#include <torch/torch.h>

#include "config/config.hpp"
#include "model/int8_weights.hpp"
#include "model/recurrent.hpp"

namespace nmt {

class BridgeImpl : public torch::nn::Module {
 public:
  BridgeImpl(const ModelConfig& config);
  // none: zeros; tanh: tanh(W [last layer fwd; bwd]); copy: the last layer's state as is.
  // The result is repeated for every decoder layer. LSTM c is zero unless copied.
  RnnState forward(const RnnState& encoder_final, int64_t batch_size);
  // The tanh bridge's matrix, for int8 decoding: its products then depend on their own row alone,
  // where a fp32 GEMM's last bits change with the number of rows.
  void add_int8_matrices(Int8Weights& weights) const;

 private:
  ModelConfig config_;
  torch::nn::Linear projection_{nullptr};
};
TORCH_MODULE(Bridge);

}  // namespace nmt
