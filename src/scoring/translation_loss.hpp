// Teacher-forced cross-entropy of a translation model over a whole corpus.
#pragma once
#include <torch/torch.h>

#include "data/corpus.hpp"
#include "model/seq2seq.hpp"
#include "scoring/token_loss.hpp"

namespace nmt {

LossTotal corpus_loss(Seq2Seq& model, const ParallelCorpus& corpus, int64_t batch_size, const torch::Device& device);

}  // namespace nmt
