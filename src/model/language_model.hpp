// A recurrent language model: the decoder without attention (embedding, RNN/GRU/LSTM stack,
// output layer with optional tied weights). Generation uses the decoder's step(), as translation does.
#pragma once
#include <torch/torch.h>

#include "config/config.hpp"
#include "model/decoder.hpp"

namespace nmt {

class LanguageModelImpl : public torch::nn::Module {
 public:
  LanguageModelImpl(const ModelConfig& config, int64_t vocab_size);
  DecoderState start(int64_t batch_size, const torch::Device& device) const;
  // Logits (B, T, V) for tokens (T, B), advancing `state`. With `lengths` the batch is packed.
  torch::Tensor forward(DecoderState& state, const torch::Tensor& tokens, const torch::Tensor& lengths = {});
  Decoder decoder() const { return decoder_; }
  const ModelConfig& config() const { return config_; }

 private:
  ModelConfig config_;
  Decoder decoder_{nullptr};
};
TORCH_MODULE(LanguageModel);


}  // namespace nmt
