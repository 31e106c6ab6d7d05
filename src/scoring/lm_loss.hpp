// Cross-entropy of a language model over held-out text, in either training mode.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "data/batch.hpp"
#include "data/corpus.hpp"
#include "data/token_streams.hpp"
#include "model/language_model.hpp"
#include "scoring/token_loss.hpp"

namespace nmt {

// Stream mode: windows of `window` tokens, the state carried across them (as in training).
LossTotal stream_loss(LanguageModel& model, const TokenStreams& streams, int64_t window, const torch::Device& device);
// Sentence mode: each sequence SOS ... EOS on its own, in packed length-sorted batches.
LossTotal sentence_loss(LanguageModel& model, const Sequences& sentences, int64_t batch_size,
                        const torch::Device& device);
// The loss of one packed batch of SOS ... EOS sequences, summed over tokens (training and evaluation).
torch::Tensor sentence_batch_loss(LanguageModel& model, const Batch& batch, double label_smoothing = 0.0);
// Held-out report of a loss: loss, ppl, and bits per character for a char tokenizer.
nlohmann::json lm_loss_report(const LossTotal& loss, bool characters);

}  // namespace nmt
