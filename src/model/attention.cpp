#include "model/attention.hpp"

#include "model/cpu_fast_paths.hpp"
#include "model/precision.hpp"
#include "model/step_attention.hpp"

namespace nmt {

AttentionImpl::AttentionImpl(const std::string& kind, int64_t query_size, int64_t memory_size) : kind_(kind) {
  if (kind == "general") {
    query_projection_ = register_module(
        "query_projection", torch::nn::Linear(torch::nn::LinearOptions(query_size, memory_size).bias(false)));
  } else if (kind == "mlp") {
    query_projection_ = register_module("query_projection", torch::nn::Linear(query_size, query_size));
    key_projection_ = register_module(
        "key_projection", torch::nn::Linear(torch::nn::LinearOptions(memory_size, query_size).bias(false)));
    score_ = register_module("score", torch::nn::Linear(torch::nn::LinearOptions(query_size, 1).bias(false)));
  } else if (kind != "dot") {
    throw std::invalid_argument("unknown attention type '" + kind + "'");
  }
}

void AttentionImpl::add_int8_matrices(Int8Weights& weights) const {
  // Queries are decoder states, keys encoder states: both within [-1, 1].
  if (query_projection_) weights.add(query_projection_->weight, query_projection_->bias, Int8Input::bounded);
  if (key_projection_) weights.add(key_projection_->weight, {}, Int8Input::bounded);
}

torch::Tensor AttentionImpl::prepare_keys(const torch::Tensor& memory) {
  return kind_ == "mlp" ? precise::linear(memory, key_projection_->weight) : memory;
}

std::tuple<torch::Tensor, torch::Tensor> AttentionImpl::forward(const torch::Tensor& query,
                                                                const torch::Tensor& memory,
                                                                const torch::Tensor& keys,
                                                                const torch::Tensor& mask) {
  torch::Tensor scores;
  if (kind_ == "mlp") {
    // (B, T, 1, A) + (B, 1, S, A) -> (B, T, S)
    const auto projected = precise::linear(query, query_projection_->weight, query_projection_->bias);
    scores = precise::linear(torch::tanh(projected.unsqueeze(2) + keys.unsqueeze(1)), score_->weight).squeeze(-1);
  } else {
    const auto projected = kind_ == "general" ? precise::linear(query, query_projection_->weight) : query;
    // An int8 decoding step attends row by row: its results then never depend on the batch, which
    // int8 rounding would otherwise amplify. fp32 decoding keeps LibTorch's products and their bits.
    if (projected.size(1) == 1 && current_int8_weights() && projected.device().is_cpu() && cpu_fast_paths_enabled()) {
      auto [context, weights] = step_attention(projected.squeeze(1), memory, mask);  // keys are the memory here
      return {context.unsqueeze(1), weights.unsqueeze(1)};
    }
    scores = precise::bmm(projected, keys.transpose(1, 2));
  }
  scores = scores.masked_fill(mask.logical_not().unsqueeze(1), -std::numeric_limits<float>::infinity());
  const auto weights = torch::softmax(scores, -1);
  return {precise::bmm(weights, memory), weights};
}

}  // namespace nmt
