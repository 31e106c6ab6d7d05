#include "model/recurrent.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>


namespace nmt {

RecurrentImpl::RecurrentImpl(const RecurrentOptions& options) : options_(options) {
  const double dropout = options.layers > 1 ? options.dropout : 0.0;
  if (options.cell == "lstm") {
    lstm_ = register_module("rnn", torch::nn::LSTM(torch::nn::LSTMOptions(options.input_size, options.hidden_size)
                                                       .num_layers(options.layers)
                                                       .bidirectional(options.bidirectional)
                                                       .dropout(dropout)));
  } else if (options.cell == "gru") {
    gru_ = register_module("rnn", torch::nn::GRU(torch::nn::GRUOptions(options.input_size, options.hidden_size)
                                                     .num_layers(options.layers)
                                                     .bidirectional(options.bidirectional)
                                                     .dropout(dropout)));
  } else if (options.cell == "rnn") {
    rnn_ = register_module("rnn", torch::nn::RNN(torch::nn::RNNOptions(options.input_size, options.hidden_size)
                                                     .num_layers(options.layers)
                                                     .bidirectional(options.bidirectional)
                                                     .dropout(dropout)));
  } else {
    throw std::invalid_argument("unknown recurrent cell '" + options.cell + "'");
  }
  if ((lstm_ || gru_) && !options.bidirectional) {
    const auto parameters = lstm_ ? lstm_->named_parameters() : gru_->named_parameters();
    for (int64_t layer = 0; layer < options.layers; ++layer) {
      const std::string suffix = "_l" + std::to_string(layer);
      layer_weights_.push_back({parameters["weight_ih" + suffix], parameters["weight_hh" + suffix],
                                parameters["bias_ih" + suffix], parameters["bias_hh" + suffix]});
    }
  }
}

namespace {
std::atomic<bool>& fused_switch() {
  static std::atomic<bool> enabled{[] {
    const char* value = std::getenv("NMT_FUSED_RNN");
    return !(value && std::strcmp(value, "0") == 0);
  }()};
  return enabled;
}
}  // namespace

void set_fused_recurrent_enabled(bool enabled) { fused_switch() = enabled; }
bool fused_recurrent_enabled() { return fused_switch(); }

bool RecurrentImpl::uses_fused_path(const torch::Tensor& input) const {
  return (lstm_ || gru_) && !options_.bidirectional && input.device().is_cpu() &&
         input.scalar_type() == torch::kFloat && fused_recurrent_enabled();
}

std::tuple<torch::Tensor, RnnState> RecurrentImpl::forward_fused(const torch::Tensor& input, const RnnState& state) {
  const auto batch = input.size(1);
  const auto zeros = torch::zeros({options_.layers, batch, options_.hidden_size}, input.options());
  const auto h0 = state.defined() ? state.h : zeros, c0 = state.c.defined() ? state.c : zeros;
  std::vector<torch::Tensor> final_h, final_c;
  torch::Tensor layer_input = input;
  for (int64_t layer = 0; layer < options_.layers; ++layer) {
    const RecurrentLayerWeights& weights = layer_weights_[static_cast<size_t>(layer)];
    torch::Tensor output;
    if (lstm_) {
      auto [lstm_output, h, c] = fused_lstm_layer(layer_input, h0[layer], c0[layer], weights);
      output = lstm_output;
      final_h.push_back(h);
      final_c.push_back(c);
    } else {
      auto [gru_output, h] = fused_gru_layer(layer_input, h0[layer], weights);
      output = gru_output;
      final_h.push_back(h);
    }
    // nn::LSTM's dropout: on every layer's output but the last, in training only.
    const bool dropout = is_training() && options_.dropout > 0 && layer + 1 < options_.layers;
    layer_input = dropout ? torch::dropout(output, options_.dropout, true) : output;
  }
  return {layer_input, RnnState{torch::stack(final_h), lstm_ ? torch::stack(final_c) : torch::Tensor()}};
}

std::tuple<torch::Tensor, RnnState> RecurrentImpl::forward(const torch::Tensor& input, const RnnState& state) {
  if (uses_fused_path(input)) return forward_fused(input, state);
  if (lstm_) {
    torch::optional<std::tuple<torch::Tensor, torch::Tensor>> hc;
    if (state.defined()) hc = std::make_tuple(state.h, state.c);
    auto [output, final] = lstm_->forward(input, hc);
    return {output, RnnState{std::get<0>(final), std::get<1>(final)}};
  }
  auto [output, h] = gru_ ? gru_->forward(input, state.h) : rnn_->forward(input, state.h);
  return {output, RnnState{h, {}}};
}

std::tuple<torch::nn::utils::rnn::PackedSequence, RnnState> RecurrentImpl::forward_packed(
    const torch::nn::utils::rnn::PackedSequence& input, const RnnState& state) {
  if (lstm_) {
    torch::optional<std::tuple<torch::Tensor, torch::Tensor>> hc;
    if (state.defined()) hc = std::make_tuple(state.h, state.c);
    auto [output, final] = lstm_->forward_with_packed_input(input, hc);
    return {output, RnnState{std::get<0>(final), std::get<1>(final)}};
  }
  auto [output, h] = gru_ ? gru_->forward_with_packed_input(input, state.h)
                          : rnn_->forward_with_packed_input(input, state.h);
  return {output, RnnState{h, {}}};
}

}  // namespace nmt
