// The encoder-decoder, built in one place from the typed config.
#pragma once
#include <torch/torch.h>

#include "config/config.hpp"
#include "data/batch.hpp"
#include "model/bridge.hpp"
#include "model/decoder.hpp"
#include "model/encoder.hpp"

namespace nmt {

class Seq2SeqImpl : public torch::nn::Module {
 public:
  Seq2SeqImpl(const ModelConfig& config, int64_t src_vocab, int64_t tgt_vocab);
  // Encodes a batch and returns the decoder's initial state.
  DecoderState start(const torch::Tensor& src, const torch::Tensor& src_len);
  // Teacher-forced logits (B, T, V). With ratio 1 the decoder's forward() runs the whole target;
  // otherwise it loops step(), feeding its own greedy predictions where the per-step coin flip
  // (probability 1 - ratio) says so.
  torch::Tensor forward(const Batch& batch, double teacher_forcing = 1.0);
  // The same logits at batch.target_positions only, (target_tokens, V): teacher-forced, the output
  // layer skips padding.
  torch::Tensor forward_targets(const Batch& batch, double teacher_forcing = 1.0);
  // Teacher-forced, up to the output layer: what it would multiply at batch.target_positions.
  Readout forward_target_readout(const Batch& batch);
  Decoder decoder() const { return decoder_; }
  // The matrices of the encoder's, the bridge's and the decoder's products, quantized for int8 decoding.
  Int8Weights int8_weights() const;
  const ModelConfig& config() const { return config_; }

 private:
  ModelConfig config_;
  Encoder encoder_{nullptr};
  Bridge bridge_{nullptr};
  Decoder decoder_{nullptr};
};
TORCH_MODULE(Seq2Seq);

int64_t count_parameters(torch::nn::Module& module);

}  // namespace nmt
