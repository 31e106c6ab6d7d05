// Decodes many encoded sentences: sorted into length batches, results in input order.
#pragma once
#include <torch/torch.h>

#include "data/corpus.hpp"
#include "model/seq2seq.hpp"
#include "search/search.hpp"

namespace nmt {

// One model of an ensemble, with the sentences encoded by its own source vocabulary.
struct DecodingMember {
  Seq2Seq model;
  const Sequences* src;
  double weight = 1.0;
};

// Every member holds the same sentences; the first member's lengths sort the batches and set the
// output length limit. A sentence empty for any member gets one empty hypothesis. Uses greedy
// search when beam_size is 1. `shortlists`, when given, holds for each sentence the target tokens
// it may produce (sorted ids): a batch's output layer then scores the union of its sentences' lists,
// and each sentence is masked to its own, so no sentence's result depends on its batch.
std::vector<std::vector<Hypothesis>> decode_sequences(std::vector<DecodingMember> members,
                                                      const SearchOptions& options, int64_t batch_size,
                                                      const torch::Device& device,
                                                      const std::vector<std::vector<int64_t>>* shortlists = nullptr);
// One model.
std::vector<std::vector<Hypothesis>> decode_sequences(Seq2Seq& model, const Sequences& src,
                                                      const SearchOptions& options, int64_t batch_size,
                                                      const torch::Device& device);

}  // namespace nmt
