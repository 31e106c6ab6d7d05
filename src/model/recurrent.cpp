#include "model/recurrent.hpp"

#include <optional>

#include "model/dropout.hpp"
#include "model/precision.hpp"
#include "runtime/torch_compat.hpp"

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
  if (lstm_ || gru_) {
    const auto parameters = lstm_ ? lstm_->named_parameters() : gru_->named_parameters();
    for (int64_t layer = 0; layer < options.layers; ++layer)
      for (const std::string direction : {"", "_reverse"}) {
        if (!direction.empty() && !options.bidirectional) continue;
        const std::string suffix = "_l" + std::to_string(layer) + direction;
        layer_weights_.push_back({parameters["weight_ih" + suffix], parameters["weight_hh" + suffix],
                                  parameters["bias_ih" + suffix], parameters["bias_hh" + suffix]});
      }
  }
}

namespace {
// Off the CPU, nn::GRU/LSTM run cuDNN's kernels, which take the products' precision from
// autocast; the outputs come back in fp32 as every other product's do.
class NarrowedOnDevice {
 public:
  explicit NarrowedOnDevice(const torch::Tensor& input) {
    if (!input.device().is_cpu() && current_precision() != Precision::fp32)
      scope_.emplace(input.device().type(), product_type(current_precision()));
  }

 private:
  std::optional<AutocastScope> scope_;
};

torch::Tensor as_float(const torch::Tensor& t) { return t.defined() ? t.to(torch::kFloat) : t; }
RnnState as_float(const RnnState& state) { return {as_float(state.h), as_float(state.c)}; }
torch::nn::utils::rnn::PackedSequence as_float(const torch::nn::utils::rnn::PackedSequence& packed) {
  if (packed.data().scalar_type() == torch::kFloat) return packed;
  return torch::nn::utils::rnn::PackedSequence(packed.data().to(torch::kFloat), packed.batch_sizes(),
                                               packed.sorted_indices(), packed.unsorted_indices());
}
}  // namespace

bool RecurrentImpl::uses_fused_path(const torch::Tensor& input) const {
  return (lstm_ || gru_) && input.device().is_cpu() && input.scalar_type() == torch::kFloat &&
         fused_recurrent_enabled() && cpu_fast_paths_enabled();
}

std::tuple<torch::Tensor, RnnState> RecurrentImpl::forward_fused(const torch::Tensor& rows,
                                                                 const std::vector<int64_t>& batch_sizes,
                                                                 const RnnState& state) {
  const int64_t directions = options_.bidirectional ? 2 : 1;
  const int64_t batch = batch_sizes.empty() ? 0 : batch_sizes.front();
  const auto zeros = torch::zeros({options_.layers * directions, batch, options_.hidden_size}, rows.options());
  const auto h0 = state.defined() ? state.h : zeros, c0 = state.c.defined() ? state.c : zeros;
  std::vector<torch::Tensor> final_h, final_c;
  torch::Tensor layer_input = rows;
  for (int64_t layer = 0; layer < options_.layers; ++layer) {
    std::vector<torch::Tensor> outputs;
    for (int64_t direction = 0; direction < directions; ++direction) {
      const int64_t index = layer * directions + direction;
      const RecurrentLayerWeights& weights = layer_weights_[static_cast<size_t>(index)];
      const StepSchedule schedule{batch_sizes, direction == 1};
      if (lstm_) {
        auto [output, h, c] = fused_lstm_layer(layer_input, schedule, h0[index], c0[index], weights);
        outputs.push_back(output);
        final_h.push_back(h);
        final_c.push_back(c);
      } else {
        auto [output, h] = fused_gru_layer(layer_input, schedule, h0[index], weights);
        outputs.push_back(output);
        final_h.push_back(h);
      }
    }
    const auto output = directions == 1 ? outputs.front() : torch::cat(outputs, 1);
    // nn::LSTM's dropout: on every layer's output but the last, in training only.
    layer_input = layer + 1 < options_.layers ? philox_dropout(output, options_.dropout, is_training()) : output;
  }
  return {layer_input, RnnState{torch::stack(final_h), lstm_ ? torch::stack(final_c) : torch::Tensor()}};
}

void RecurrentImpl::add_int8_matrices(Int8Weights& weights) const {
  if (!lstm_ && !gru_)
    throw std::invalid_argument("int8 decoding covers GRU and LSTM layers, not the plain '" + options_.cell + "' cell");
  if (!fused_recurrent_enabled() || !cpu_fast_paths_enabled())
    throw std::invalid_argument("int8 decoding runs nmt's fused recurrent layers, which NMT_FUSED_RNN=0 or "
                                "NMT_CPU_FAST_PATHS=0 turned off");
  // States and the layers above the first read tanh-bounded values; the first layer reads its caller's.
  const auto directions = static_cast<size_t>(options_.bidirectional ? 2 : 1);
  for (size_t index = 0; index < layer_weights_.size(); ++index) {
    const auto& layer = layer_weights_[index];
    weights.add(layer.w_ih, layer.b_ih, index < directions ? Int8Input::any : Int8Input::bounded);
    weights.add(layer.w_hh, layer.b_hh, Int8Input::bounded);
  }
}

std::tuple<torch::Tensor, RnnState> RecurrentImpl::forward(const torch::Tensor& input, const RnnState& state) {
  if (uses_fused_path(input)) {
    const int64_t steps = input.size(0), batch = input.size(1);
    auto [rows, final] = forward_fused(input.reshape({steps * batch, input.size(2)}),
                                       std::vector<int64_t>(static_cast<size_t>(steps), batch), state);
    return {rows.view({steps, batch, -1}), final};
  }
  const NarrowedOnDevice narrowed(input);
  if (lstm_) {
    torch::optional<std::tuple<torch::Tensor, torch::Tensor>> hc;
    if (state.defined()) hc = std::make_tuple(state.h, state.c);
    auto [output, final] = lstm_->forward(input, hc);
    return {as_float(output), as_float(RnnState{std::get<0>(final), std::get<1>(final)})};
  }
  auto [output, h] = gru_ ? gru_->forward(input, state.h) : rnn_->forward(input, state.h);
  return {as_float(output), as_float(RnnState{h, {}})};
}

std::tuple<torch::nn::utils::rnn::PackedSequence, RnnState> RecurrentImpl::forward_packed(
    const torch::nn::utils::rnn::PackedSequence& input, const RnnState& state) {
  if (uses_fused_path(input.data())) {
    // As nn::GRU does: the caller's state is in the caller's row order, the packed rows in sorted order.
    const auto& sorted = input.sorted_indices();
    const auto& unsorted = input.unsorted_indices();
    const RnnState start = sorted.defined() && state.defined() ? state.index_select(1, sorted) : state;
    const auto sizes = input.batch_sizes();
    auto [rows, final] = forward_fused(
        input.data(), std::vector<int64_t>(sizes.data_ptr<int64_t>(), sizes.data_ptr<int64_t>() + sizes.numel()), start);
    return {torch::nn::utils::rnn::PackedSequence(rows, sizes, sorted, unsorted),
            unsorted.defined() ? final.index_select(1, unsorted) : final};
  }
  const NarrowedOnDevice narrowed(input.data());
  if (lstm_) {
    torch::optional<std::tuple<torch::Tensor, torch::Tensor>> hc;
    if (state.defined()) hc = std::make_tuple(state.h, state.c);
    auto [output, final] = lstm_->forward_with_packed_input(input, hc);
    return {as_float(output), as_float(RnnState{std::get<0>(final), std::get<1>(final)})};
  }
  auto [output, h] = gru_ ? gru_->forward_with_packed_input(input, state.h)
                          : rnn_->forward_with_packed_input(input, state.h);
  return {as_float(output), as_float(RnnState{h, {}})};
}

}  // namespace nmt
