#include "model/decoder.hpp"

#include "data/special_tokens.hpp"
#include "model/dropout.hpp"
#include "model/precision.hpp"

namespace nmt {

int64_t attentional_size(const ModelConfig& config) {
  // With tied embeddings the attentional vector feeds the embedding matrix, so it has its width;
  // a decoder wider than its embeddings then reads out through this smaller layer (as Marian's
  // deep output does), which also makes the output layer cheaper.
  return config.tie_embeddings && config.attention != "none" ? config.emb_size : config.dec_hidden;
}

DecoderState DecoderState::select(const torch::Tensor& recurrent_index, const torch::Tensor& source_index) const {
  auto pick = [](const torch::Tensor& x, int64_t dim, const torch::Tensor& index) {
    return x.defined() && index.defined() ? x.index_select(dim, index) : x;
  };
  OutputSubset subset = output;
  subset.mask = pick(output.mask, 0, source_index);
  return {RnnState{pick(rnn.h, 1, recurrent_index), pick(rnn.c, 1, recurrent_index)},
          pick(input_feed, 0, recurrent_index), pick(memory, 0, source_index), pick(keys, 0, source_index),
          pick(mask, 0, source_index), std::move(subset)};
}

DecoderState DecoderState::detached() const {
  auto cut = [](const torch::Tensor& x) { return x.defined() ? x.detach() : x; };
  return {RnnState{cut(rnn.h), cut(rnn.c)}, cut(input_feed), memory, keys, mask, output};
}

DecoderImpl::DecoderImpl(const ModelConfig& config, int64_t vocab_size, int64_t memory_size) : config_(config) {
  embedding_ = register_module(
      "embedding", torch::nn::Embedding(torch::nn::EmbeddingOptions(vocab_size, config.emb_size).padding_idx(kPad)));
  dropout_ = register_module("dropout", torch::nn::Dropout(config.dropout));
  const int64_t rnn_input = config.emb_size + (config.input_feeding ? attentional_size(config) : 0);
  rnn_ = register_module("rnn", Recurrent(RecurrentOptions{config.cell, rnn_input, config.dec_hidden,
                                                           config.dec_layers, false, config.dropout}));
  if (config.attention != "none") {
    attention_ = register_module("attention", Attention(config.attention, config.dec_hidden, memory_size));
    combine_ = register_module("combine",
                               torch::nn::Linear(config.dec_hidden + memory_size, attentional_size(config)));
  }
  if (config.tie_embeddings) {
    output_bias_ = register_parameter("output_bias", torch::zeros({vocab_size}));
    // As an output layer, N(0, 1) rows (the embedding default) would give logits of standard
    // deviation ~sqrt(emb_size) and a start far above log(vocab); scale them like a Linear layer.
    torch::NoGradGuard no_grad;
    embedding_->weight.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(config.emb_size)));
    embedding_->weight[kPad].zero_();
  }
  else
    output_ = register_module("output", torch::nn::Linear(config.dec_hidden, vocab_size));
}

DecoderState DecoderImpl::start(const EncoderOutput& encoded, const RnnState& initial) {
  DecoderState state{initial, {}, encoded.memory, {}, encoded.mask, {}};
  if (attention_) state.keys = attention_->prepare_keys(encoded.memory);
  if (config_.input_feeding)
    state.input_feed = torch::zeros({encoded.memory.size(0), attentional_size(config_)}, encoded.memory.options());
  return state;
}

DecoderState DecoderImpl::start_unconditional(int64_t batch_size, const torch::Device& device) const {
  const auto zeros = torch::zeros({config_.dec_layers, batch_size, config_.dec_hidden}, torch::TensorOptions().device(device));
  return {RnnState{zeros, config_.cell == "lstm" ? torch::zeros_like(zeros) : torch::Tensor()}, {}, {}, {}, {}, {}};
}

torch::Tensor DecoderImpl::embed(const torch::Tensor& tokens) { return philox_dropout(dropout_, embedding_(tokens)); }

std::tuple<torch::Tensor, torch::Tensor> DecoderImpl::attend(DecoderState& state, torch::Tensor input,
                                                             const torch::Tensor& lengths,
                                                             const torch::Tensor& positions) {
  if (config_.input_feeding) input = torch::cat({input, state.input_feed.unsqueeze(0)}, -1);
  torch::Tensor rnn_out;
  if (lengths.defined()) {
    namespace rnn_utils = torch::nn::utils::rnn;
    auto [packed_out, next_rnn] = rnn_->forward_packed(
        rnn_utils::pack_padded_sequence(input, lengths, /*batch_first=*/false, /*enforce_sorted=*/false), state.rnn);
    rnn_out = std::get<0>(rnn_utils::pad_packed_sequence(packed_out, false, 0.0, input.size(0)));
    state.rnn = next_rnn;
  } else {
    auto [output, next_rnn] = rnn_->forward(input, state.rnn);
    rnn_out = output;
    state.rnn = next_rnn;
  }
  auto hidden = rnn_out.transpose(0, 1);  // (B, T, H)
  // The attentional layer's products run on the rows at `positions` only: a batch's padding rows
  // would be dropped after them.
  const auto at_positions = [&](const torch::Tensor& rows) {
    return positions.defined() ? rows.reshape({-1, rows.size(-1)}).index_select(0, positions) : rows;
  };
  torch::Tensor weights;
  if (attention_) {
    auto [context, attention_weights] = attention_->forward(hidden, state.memory, state.keys, state.mask);
    const auto attentional_input = at_positions(torch::cat({hidden, context}, -1));
    hidden = torch::tanh(precise::linear(attentional_input, combine_->weight, combine_->bias));
    weights = attention_weights;
  } else {
    hidden = at_positions(hidden);
  }
  if (config_.input_feeding) state.input_feed = hidden.select(1, hidden.size(1) - 1);
  return {hidden, weights};
}

Readout DecoderImpl::readout(const torch::Tensor& hidden) {
  const auto features = philox_dropout(dropout_, hidden);
  return output_ ? Readout{features, output_->weight, output_->bias} : Readout{features, embedding_->weight, output_bias_};
}

torch::Tensor DecoderImpl::project(const torch::Tensor& hidden, const OutputSubset& subset) {
  if (subset.defined()) {
    const auto dropped = philox_dropout(dropout_, hidden);
    const auto logits = subset.int8 ? subset.int8->linear(dropped) : precise::linear(dropped, subset.weight, subset.bias);
    return logits + subset.mask.unsqueeze(1);  // hidden (B, T, H): one mask row per sentence row
  }
  const auto [features, weight, bias] = readout(hidden);
  return precise::linear(features, weight, bias);
}

DecoderOutput DecoderImpl::step(DecoderState& state, const torch::Tensor& previous_tokens) {
  auto [hidden, weights] = attend(state, embed(previous_tokens.unsqueeze(0)));
  return {project(hidden, state.output).squeeze(1), weights.defined() ? weights.squeeze(1) : weights};
}

void DecoderImpl::restrict_output(DecoderState& state, const torch::Tensor& ids, const torch::Tensor& allowed) const {
  const auto& weight = output_ ? output_->weight : embedding_->weight;
  const auto& bias = output_ ? output_->bias : output_bias_;
  const bool int8 = int8_matrix(weight, bias) != nullptr;
  OutputSubset subset;
  subset.ids = ids;
  auto allowed_columns = allowed;
  // int8 kernels are made per shape: lists rounded up to whole blocks of columns (padding, allowed
  // to no row) let sentences with lists of about one length share them.
  constexpr int64_t kBlock = 64;
  if (const int64_t extra = (kBlock - ids.size(0) % kBlock) % kBlock; int8 && extra > 0) {
    subset.ids = torch::cat({ids, torch::full({extra}, kPad, ids.options())});
    allowed_columns = torch::cat({allowed, torch::zeros({allowed.size(0), extra}, allowed.options())}, 1);
  }
  subset.weight = weight.index_select(0, subset.ids);
  subset.bias = bias.index_select(0, subset.ids);
  // Per-row scales make quantizing the chosen rows the same as choosing quantized rows.
  if (int8)
    subset.int8 = std::make_shared<const Int8Matrix>(subset.weight, subset.bias, current_int8_weights()->engine(),
                                                     Int8Input::bounded);
  subset.mask = torch::zeros(allowed_columns.sizes(), subset.weight.options())
                    .masked_fill_(allowed_columns.logical_not(), -std::numeric_limits<float>::infinity());
  state.output = std::move(subset);
}

void DecoderImpl::add_int8_matrices(Int8Weights& weights) const {
  rnn_->add_int8_matrices(weights);
  // The attentional layer reads states and contexts, the output layer a tanh or a state: all within [-1, 1].
  if (attention_) {
    attention_->add_int8_matrices(weights);
    weights.add(combine_->weight, combine_->bias, Int8Input::bounded);
  }
  if (output_)
    weights.add(output_->weight, output_->bias, Int8Input::bounded);
  else
    weights.add(embedding_->weight, output_bias_, Int8Input::bounded);
}

std::tuple<torch::Tensor, torch::Tensor> DecoderImpl::teacher_forced(DecoderState& state, const torch::Tensor& tgt_in,
                                                                     const torch::Tensor& lengths,
                                                                     const torch::Tensor& positions) {
  const auto embedded = embed(tgt_in);
  if (!config_.input_feeding) return attend(state, embedded, lengths, positions);
  // Each attentional vector feeds the next step, so the recurrence runs token by token; the
  // output layer, the largest product, still runs once over the whole sequence.
  std::vector<torch::Tensor> hiddens, step_weights;
  for (int64_t t = 0; t < tgt_in.size(0); ++t) {
    auto [step_hidden, step_weight] = attend(state, embedded.slice(0, t, t + 1));
    hiddens.push_back(step_hidden);
    if (step_weight.defined()) step_weights.push_back(step_weight);
  }
  auto hidden = torch::cat(hiddens, 1);
  const auto weights = step_weights.empty() ? torch::Tensor() : torch::cat(step_weights, 1);
  if (positions.defined()) hidden = hidden.reshape({-1, hidden.size(-1)}).index_select(0, positions);
  return {hidden, weights};
}

DecoderOutput DecoderImpl::forward(DecoderState& state, const torch::Tensor& tgt_in, const torch::Tensor& lengths,
                                   const torch::Tensor& positions) {
  const auto [hidden, weights] = teacher_forced(state, tgt_in, lengths, positions);
  return {project(hidden), weights};
}

Readout DecoderImpl::forward_readout(DecoderState& state, const torch::Tensor& tgt_in, const torch::Tensor& positions) {
  return readout(std::get<0>(teacher_forced(state, tgt_in, {}, positions)));
}

}  // namespace nmt
