// What greedy and beam search advance: a decoder, or an ensemble of decoders, holding one state
// row per hypothesis, scoring the next token of every row.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <vector>

#include "model/decoder.hpp"

namespace nmt {

using StepFunction = std::function<DecoderOutput(DecoderState&, const torch::Tensor&)>;

struct StepScores {
  torch::Tensor log_probs;  // (rows, V), float; (rows, U) over token_ids when the output is restricted
  torch::Tensor attention;  // (rows, S); undefined without attention
  torch::Tensor token_ids;  // (U) int64: the target token of each log_probs column; undefined: column = token
  // The target tokens at `columns` of log_probs (any shape, int64).
  torch::Tensor tokens(const torch::Tensor& columns) const {
    return token_ids.defined() ? token_ids.index_select(0, columns.reshape(-1)).view(columns.sizes()) : columns;
  }
};

class StepScorer {
 public:
  virtual ~StepScorer() = default;
  // Feeds every row its previous token (rows) and scores the next one.
  virtual StepScores step(const torch::Tensor& previous) = 0;
  // Keeps and reorders rows, as DecoderState::select(recurrent_index, source_index).
  virtual void select(const torch::Tensor& recurrent_index, const torch::Tensor& source_index) = 0;
  virtual torch::Device device() const = 0;
};

// One decoder: `step` (Decoder::step, or a language model's decoder) advancing `state`.
class DecoderScorer : public StepScorer {
 public:
  DecoderScorer(StepFunction step, DecoderState state) : step_(std::move(step)), state_(std::move(state)) {}
  StepScores step(const torch::Tensor& previous) override;
  void select(const torch::Tensor& recurrent_index, const torch::Tensor& source_index) override;
  torch::Device device() const override { return state_.device(); }

 private:
  StepFunction step_;
  DecoderState state_;
};

// Several models over the same target vocabulary, each with its own state (and its own encoding
// of the source). A step's log-probabilities are the members' weighted mean (log-linear, as
// Marian's ensembles); attention is the first member's, over its own source tokens. One member
// is that member alone, bit for bit. Restricted outputs must restrict every member to the same tokens.
class EnsembleScorer : public StepScorer {
 public:
  // Weights are positive; they are normalised to sum to 1.
  EnsembleScorer(std::vector<std::unique_ptr<StepScorer>> members, std::vector<double> weights);
  StepScores step(const torch::Tensor& previous) override;
  void select(const torch::Tensor& recurrent_index, const torch::Tensor& source_index) override;
  torch::Device device() const override { return members_.front()->device(); }

 private:
  std::vector<std::unique_ptr<StepScorer>> members_;
  std::vector<double> weights_;
};

}  // namespace nmt
