#include "model/bridge.hpp"

#include "model/precision.hpp"

namespace nmt {

BridgeImpl::BridgeImpl(const ModelConfig& config) : config_(config) {
  const int64_t encoder_size = config.enc_hidden * (config.bidirectional ? 2 : 1);
  if (config.bridge == "tanh")
    projection_ = register_module("projection", torch::nn::Linear(encoder_size, config.dec_hidden));
}

namespace {
// (layers * dirs, B, H) -> (B, dirs * H) of the last layer.
torch::Tensor last_layer(const torch::Tensor& state, int64_t directions) {
  const auto last = state.slice(0, state.size(0) - directions);  // (dirs, B, H)
  return last.transpose(0, 1).reshape({state.size(1), -1});
}
}  // namespace

RnnState BridgeImpl::forward(const RnnState& encoder_final, int64_t batch_size) {
  const int64_t directions = config_.bidirectional ? 2 : 1;
  const int64_t layers = config_.dec_layers;
  const bool lstm = config_.cell == "lstm";
  auto repeat = [&](const torch::Tensor& x) { return x.unsqueeze(0).repeat({layers, 1, 1}); };
  if (config_.bridge == "none") {
    auto zeros = torch::zeros({layers, batch_size, config_.dec_hidden}, encoder_final.h.options());
    return {zeros, lstm ? torch::zeros_like(zeros) : torch::Tensor()};
  }
  if (config_.bridge == "copy") {
    return {repeat(last_layer(encoder_final.h, directions)),
            lstm ? repeat(last_layer(encoder_final.c, directions)) : torch::Tensor()};
  }
  auto h = repeat(torch::tanh(
      precise::linear(last_layer(encoder_final.h, directions), projection_->weight, projection_->bias)));
  return {h, lstm ? torch::zeros_like(h) : torch::Tensor()};
}

void BridgeImpl::add_int8_matrices(Int8Weights& weights) const {
  // It reads the encoder's final states, within [-1, 1].
  if (projection_) weights.add(projection_->weight, projection_->bias, Int8Input::bounded);
}

}  // namespace nmt
