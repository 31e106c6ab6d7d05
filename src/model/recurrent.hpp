// One wrapper over torch::nn::RNN / GRU / LSTM, so callers never care which cell runs.
#pragma once
#include <torch/torch.h>

#include "model/cpu_fast_paths.hpp"
#include "model/fused_recurrent.hpp"
#include "model/int8_weights.hpp"

namespace nmt {

// Hidden state of a recurrent stack: h, plus c for LSTM (undefined otherwise).
struct RnnState {
  torch::Tensor h, c;  // (layers * directions, batch, hidden)
  bool defined() const { return h.defined(); }
  RnnState index_select(int64_t dim, const torch::Tensor& index) const {
    return {h.index_select(dim, index), c.defined() ? c.index_select(dim, index) : c};
  }
};

struct RecurrentOptions {
  std::string cell = "gru";
  int64_t input_size = 0, hidden_size = 0, layers = 1;
  bool bidirectional = false;
  double dropout = 0.0;  // between layers
};

class RecurrentImpl : public torch::nn::Module {
 public:
  explicit RecurrentImpl(const RecurrentOptions& options);
  // Time-major input (T, B, I); an undefined state means zeros.
  std::tuple<torch::Tensor, RnnState> forward(const torch::Tensor& input, const RnnState& state = {});
  std::tuple<torch::nn::utils::rnn::PackedSequence, RnnState> forward_packed(
      const torch::nn::utils::rnn::PackedSequence& input, const RnnState& state = {});
  const RecurrentOptions& options() const { return options_; }
  // Adds every layer's matrices for int8 decoding, which runs the fused layers: throws for the plain
  // RNN cell and when the fused layers are switched off.
  void add_int8_matrices(Int8Weights& weights) const;

 private:
  bool uses_fused_path(const torch::Tensor& input) const;
  // rows (N, I) packed as `batch_sizes` says; returns the packed outputs (N, directions * H).
  std::tuple<torch::Tensor, RnnState> forward_fused(const torch::Tensor& rows, const std::vector<int64_t>& batch_sizes,
                                                    const RnnState& state);
  RecurrentOptions options_;
  torch::nn::RNN rnn_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
  // Handles to each layer's (and direction's) parameters for the fused path, looked up once: set_data (device
  // moves, checkpoint loads) keeps the tensors these handles refer to.
  std::vector<RecurrentLayerWeights> layer_weights_;
};
TORCH_MODULE(Recurrent);

}  // namespace nmt
