// Recurrent decoder with optional attention and input feeding. step() advances one token and
// is the only per-token path: greedy search, beam search and scheduled sampling all use it.
#pragma once
#include <torch/torch.h>

#include "config/config.hpp"
#include "model/attention.hpp"
#include "model/encoder.hpp"
#include "model/int8_weights.hpp"
#include "model/recurrent.hpp"

namespace nmt {

// The output layer cut down to some target tokens (a shortlist): step() then scores only these.
struct OutputSubset {
  torch::Tensor ids;                       // (U) int64: the target token of each logit column
  torch::Tensor weight, bias;              // the output layer's rows for them
  std::shared_ptr<const Int8Matrix> int8;  // those rows in int8, when decoding in int8
  torch::Tensor mask;                      // (rows, U): 0 where a row's sentence may produce the token, -inf elsewhere
  bool defined() const { return ids.defined(); }
};

struct DecoderState {
  RnnState rnn;
  torch::Tensor input_feed;  // (B, attentional_size): last attentional vector, fed back with input feeding
  torch::Tensor memory;      // (B, S, M)
  torch::Tensor keys;        // attention keys prepared from memory
  torch::Tensor mask;        // (B, S)
  OutputSubset output;       // undefined: step() scores the whole target vocabulary
  // Keeps (and reorders) the sentences at `index`: beam search and shrinking finished batches.
  DecoderState select(const torch::Tensor& index) const { return select(index, index); }
  // The same with separate indices for the recurrent part (h, c, input feed) and the source
  // side (memory, keys, mask, the output subset's mask); an undefined `source_index` keeps the source side as it is,
  // which beam search uses when it only reorders beams within each sentence's block.
  DecoderState select(const torch::Tensor& recurrent_index, const torch::Tensor& source_index) const;
  torch::Device device() const { return rnn.h.defined() ? rnn.h.device() : mask.device(); }
  // The recurrent state cut from the graph: truncated BPTT carries values, not gradients.
  DecoderState detached() const;
};

struct DecoderOutput {
  torch::Tensor logits;     // (B, T, V), or (B, V) from step()
  torch::Tensor attention;  // (B, T, S), or (B, S) from step(); undefined without attention
};

// The output layer's input rows (dropout applied) and its matrices, for a loss that multiplies
// them itself (scoring/output_cross_entropy.hpp) and so needs no logits tensor.
struct Readout {
  torch::Tensor features;      // (P, H)
  torch::Tensor weight, bias;  // (V, H), (V)
};

// Width of the vectors the output layer reads (and input feeding feeds back).
int64_t attentional_size(const ModelConfig& config);

class DecoderImpl : public torch::nn::Module {
 public:
  DecoderImpl(const ModelConfig& config, int64_t vocab_size, int64_t memory_size);
  DecoderState start(const EncoderOutput& encoded, const RnnState& initial);
  // All-zero state without a source, for a language model.
  DecoderState start_unconditional(int64_t batch_size, const torch::Device& device) const;
  // (B) int64 -> logits (B, V), or (B, U) over state.output.ids when the output is restricted.
  DecoderOutput step(DecoderState& state, const torch::Tensor& previous_tokens);
  // Restricts step()'s output layer in `state` to the target tokens `ids` (U, int64), each row
  // further to the tokens `allowed` (B, U, bool) marks for it. In int8 decoding the rows taken
  // from the output layer are quantized as the whole layer is, and state.output.ids may end in
  // padding columns that no row allows.
  void restrict_output(DecoderState& state, const torch::Tensor& ids, const torch::Tensor& allowed) const;
  // Adds the matrices of every product a decoding step runs, for int8 decoding.
  void add_int8_matrices(Int8Weights& weights) const;
  // Teacher-forced pass over tgt_in (T, B): one recurrent call, or one step per token with input
  // feeding. Without input feeding, `lengths` (B, CPU int64) packs the padded input, so padding
  // costs nothing. Logits are (B, T, V), or (P, V) at `positions` (flat b * T + t) only: the output
  // layer, the largest product, then skips padding.
  DecoderOutput forward(DecoderState& state, const torch::Tensor& tgt_in, const torch::Tensor& lengths = {},
                        const torch::Tensor& positions = {});
  // The same pass up to the output layer: what it would multiply at `positions`.
  Readout forward_readout(DecoderState& state, const torch::Tensor& tgt_in, const torch::Tensor& positions);
  bool input_feeding() const { return config_.input_feeding; }
  torch::nn::Embedding embedding() const { return embedding_; }

 private:
  torch::Tensor embed(const torch::Tensor& tokens);  // (T, B) -> (T, B, E), with dropout
  // Attentional vectors (B, T, H), or (P, H) at `positions` (b * T + t), and attention weights
  // (B, T, S) for embedded input (T, B, E); T is 1 with input feeding, which needs every vector.
  std::tuple<torch::Tensor, torch::Tensor> attend(DecoderState& state, torch::Tensor input,
                                                  const torch::Tensor& lengths = {}, const torch::Tensor& positions = {});
  // forward()'s attentional vectors (B, T, H), or (P, H) at `positions`, and attention weights.
  std::tuple<torch::Tensor, torch::Tensor> teacher_forced(DecoderState& state, const torch::Tensor& tgt_in,
                                                          const torch::Tensor& lengths, const torch::Tensor& positions);
  // The output layer's input and matrices for `hidden`, dropout applied.
  Readout readout(const torch::Tensor& hidden);
  // Output-layer logits, with dropout before it; over `subset`'s tokens when it is defined.
  torch::Tensor project(const torch::Tensor& hidden, const OutputSubset& subset = {});
  ModelConfig config_;
  torch::nn::Embedding embedding_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  Recurrent rnn_{nullptr};
  Attention attention_{nullptr};
  torch::nn::Linear combine_{nullptr};
  torch::nn::Linear output_{nullptr};
  torch::Tensor output_bias_;  // with tied embeddings the output weight is the embedding matrix
};
TORCH_MODULE(Decoder);

}  // namespace nmt
