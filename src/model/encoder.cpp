#include "model/encoder.hpp"

#include <cmath>

#include "data/special_tokens.hpp"
#include "model/dropout.hpp"

namespace nmt {

namespace rnn_utils = torch::nn::utils::rnn;

EncoderImpl::EncoderImpl(const ModelConfig& config, int64_t vocab_size)
    : output_size_(config.enc_hidden * (config.bidirectional ? 2 : 1)) {
  embedding_ = register_module(
      "embedding", torch::nn::Embedding(torch::nn::EmbeddingOptions(vocab_size, config.emb_size).padding_idx(kPad)));
  dropout_ = register_module("dropout", torch::nn::Dropout(config.dropout));
  rnn_ = register_module("rnn", Recurrent(RecurrentOptions{config.cell, config.emb_size, config.enc_hidden,
                                                           config.enc_layers, config.bidirectional, config.dropout}));
}

void EncoderImpl::share_embedding(torch::nn::Embedding embedding) {
  unregister_module("embedding");
  embedding_ = std::move(embedding);
  input_scale_ = std::sqrt(static_cast<double>(embedding_->options.embedding_dim()));
}

EncoderOutput EncoderImpl::forward(const torch::Tensor& src, const torch::Tensor& lengths) {
  const auto embedded = philox_dropout(dropout_, input_scale_ == 1.0 ? embedding_(src) : embedding_(src) * input_scale_);
  const auto packed = rnn_utils::pack_padded_sequence(embedded, lengths, /*batch_first=*/false,
                                                      /*enforce_sorted=*/true);
  auto [packed_out, final] = rnn_->forward_packed(packed);
  auto [outputs, unused_lengths] = rnn_utils::pad_packed_sequence(packed_out, /*batch_first=*/false, 0.0,
                                                                   src.size(0));
  return {outputs.transpose(0, 1).contiguous(), src.transpose(0, 1).ne(kPad), final};
}

}  // namespace nmt
