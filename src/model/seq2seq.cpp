#include "model/seq2seq.hpp"

#include "model/initialization.hpp"

namespace nmt {

Seq2SeqImpl::Seq2SeqImpl(const ModelConfig& config, int64_t src_vocab, int64_t tgt_vocab) : config_(config) {
  encoder_ = register_module("encoder", Encoder(config, src_vocab));
  bridge_ = register_module("bridge", Bridge(config));
  decoder_ = register_module("decoder", Decoder(config, tgt_vocab, encoder_->output_size()));
  if (config.tie_all_embeddings) {
    if (src_vocab != tgt_vocab)
      throw std::runtime_error("model.tie_all_embeddings needs one vocabulary for both sides, but the source has " +
                               std::to_string(src_vocab) + " entries and the target " + std::to_string(tgt_vocab) +
                               " (preprocess with data.vocab.shared: true)");
    encoder_->share_embedding(decoder_->embedding());
  }
  initialize_uniform(*this, config.init_uniform);
}

DecoderState Seq2SeqImpl::start(const torch::Tensor& src, const torch::Tensor& src_len) {
  const auto encoded = encoder_->forward(src, src_len);
  return decoder_->start(encoded, bridge_->forward(encoded.final, src.size(1)));
}

torch::Tensor Seq2SeqImpl::forward(const Batch& batch, double teacher_forcing) {
  auto state = start(batch.src, batch.src_len);
  if (teacher_forcing >= 1.0) return decoder_->forward(state, batch.tgt_in).logits;
  const int64_t steps = batch.tgt_in.size(0);
  const auto coin = torch::rand({steps});  // drawn once: one host tensor, no per-step sync
  const auto* coin_data = coin.data_ptr<float>();
  std::vector<torch::Tensor> logits;
  torch::Tensor previous = batch.tgt_in[0];
  for (int64_t t = 0; t < steps; ++t) {
    if (t > 0) {
      const bool teacher = coin_data[t] < teacher_forcing;
      previous = teacher ? batch.tgt_in[t] : logits.back().argmax(-1).detach();
    }
    logits.push_back(decoder_->step(state, previous).logits);
  }
  return torch::stack(logits, 1);
}

torch::Tensor Seq2SeqImpl::forward_targets(const Batch& batch, double teacher_forcing) {
  if (teacher_forcing < 1.0) {
    const auto logits = forward(batch, teacher_forcing);
    return logits.reshape({-1, logits.size(-1)}).index_select(0, batch.target_positions);
  }
  auto state = start(batch.src, batch.src_len);
  return decoder_->forward(state, batch.tgt_in, {}, batch.target_positions).logits;
}

Readout Seq2SeqImpl::forward_target_readout(const Batch& batch) {
  auto state = start(batch.src, batch.src_len);
  return decoder_->forward_readout(state, batch.tgt_in, batch.target_positions);
}

Int8Weights Seq2SeqImpl::int8_weights() const {
  Int8Weights weights;
  encoder_->add_int8_matrices(weights);
  bridge_->add_int8_matrices(weights);
  decoder_->add_int8_matrices(weights);
  return weights;
}

int64_t count_parameters(torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& parameter : module.parameters()) total += parameter.numel();
  return total;
}

}  // namespace nmt
