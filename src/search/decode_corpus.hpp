// Decodes many encoded sentences: sorted into length batches, results in input order.
#pragma once
#include <torch/torch.h>

#include "data/corpus.hpp"
#include "model/seq2seq.hpp"
#include "search/search.hpp"

namespace nmt {

// Empty source sentences get one empty hypothesis. Uses greedy search when beam_size is 1.
std::vector<std::vector<Hypothesis>> decode_sequences(Seq2Seq& model, const Sequences& src,
                                                      const SearchOptions& options, int64_t batch_size,
                                                      const torch::Device& device);

}  // namespace nmt
