// Teacher-forced cross-entropy of a translation model over a whole corpus.
#pragma once
#include <torch/torch.h>

#include "data/corpus.hpp"
#include "model/seq2seq.hpp"
#include "scoring/token_loss.hpp"

namespace nmt {

// Summed token cross-entropy of a translation batch, the output layer run on its real targets only.
torch::Tensor translation_loss_sum(Seq2Seq& model, const Batch& batch, double teacher_forcing = 1.0,
                                   double label_smoothing = 0.0);

LossTotal corpus_loss(Seq2Seq& model, const ParallelCorpus& corpus, int64_t batch_size, const torch::Device& device);

}  // namespace nmt
