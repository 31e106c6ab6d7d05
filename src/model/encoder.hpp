// Embedding + (bi)directional recurrent stack over packed source sentences.
#pragma once
#include <torch/torch.h>

#include "config/config.hpp"
#include "model/recurrent.hpp"

namespace nmt {

struct EncoderOutput {
  torch::Tensor memory;  // (B, S, enc_out): outputs at every source position, zeros on padding
  torch::Tensor mask;    // (B, S) bool, true on real tokens
  RnnState final;        // (layers * directions, B, H)
};

class EncoderImpl : public torch::nn::Module {
 public:
  EncoderImpl(const ModelConfig& config, int64_t vocab_size);
  // src: (S, B) int64, lengths: CPU int64 (B), sorted descending.
  EncoderOutput forward(const torch::Tensor& src, const torch::Tensor& lengths);
  int64_t output_size() const { return output_size_; }
  // The recurrent layers' matrices, for int8 decoding.
  void add_int8_matrices(Int8Weights& weights) const { rnn_->add_int8_matrices(weights); }
  // Reads source tokens through `embedding`, owned elsewhere (the decoder's, for three-way tying),
  // in place of its own, which it drops. Tied rows start at the small scale of an output layer,
  // so the encoder multiplies them by sqrt(emb_size): its input then starts at the unit scale of
  // an embedding of its own (at 1/sqrt(emb_size), Multi30k de-en learned far more slowly).
  void share_embedding(torch::nn::Embedding embedding);

 private:
  torch::nn::Embedding embedding_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  Recurrent rnn_{nullptr};
  int64_t output_size_;
  double input_scale_ = 1.0;
};
TORCH_MODULE(Encoder);

}  // namespace nmt
