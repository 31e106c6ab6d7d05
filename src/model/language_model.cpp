#include "model/language_model.hpp"

#include "model/initialization.hpp"

namespace nmt {

LanguageModelImpl::LanguageModelImpl(const ModelConfig& config, int64_t vocab_size) : config_(config) {
  TORCH_CHECK(config.attention == "none", "a language model has no attention");
  decoder_ = register_module("decoder", Decoder(config, vocab_size, /*memory_size=*/0));
  initialize_uniform(*this, config.init_uniform);
}

DecoderState LanguageModelImpl::start(int64_t batch_size, const torch::Device& device) const {
  return decoder_->start_unconditional(batch_size, device);
}

torch::Tensor LanguageModelImpl::forward(DecoderState& state, const torch::Tensor& tokens, const torch::Tensor& lengths) {
  return decoder_->forward(state, tokens, lengths).logits;
}

}  // namespace nmt
