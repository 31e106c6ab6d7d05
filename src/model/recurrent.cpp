#include "model/recurrent.hpp"

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
}

std::tuple<torch::Tensor, RnnState> RecurrentImpl::forward(const torch::Tensor& input, const RnnState& state) {
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
    const torch::nn::utils::rnn::PackedSequence& input) {
  if (lstm_) {
    auto [output, final] = lstm_->forward_with_packed_input(input);
    return {output, RnnState{std::get<0>(final), std::get<1>(final)}};
  }
  auto [output, h] = gru_ ? gru_->forward_with_packed_input(input) : rnn_->forward_with_packed_input(input);
  return {output, RnnState{h, {}}};
}

}  // namespace nmt
