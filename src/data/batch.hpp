// A padded, length-sorted batch of sentence pairs, and the collate step that builds it.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "data/corpus.hpp"

namespace nmt {

struct Batch {
  torch::Tensor src;         // (S, B) int64, padded with PAD
  torch::Tensor src_len;     // (B) CPU int64, descending
  torch::Tensor tgt_in;      // (T, B): SOS ... (decoder input)
  torch::Tensor tgt_out;     // (T, B): ... EOS (prediction targets)
  torch::Tensor tgt_len;     // (B) CPU int64 lengths of tgt_in; set by collate_targets only
  torch::Tensor target_positions;  // (target_tokens) int64: b * T + t of each non-padding target, column by column
  int64_t target_tokens = 0; // non-padding tokens of tgt_out, known without a device sync
  int64_t padded_src = 0, padded_tgt = 0;  // S*B and T*B, for padding statistics
  std::vector<int64_t> indices;  // corpus index of each column, to restore input order
  int64_t size() const { return static_cast<int64_t>(indices.size()); }
  Batch to(const torch::Device& device) const;
};

// Sorts the pairs by source length (descending) and pads them with pad_sequence.
// With `tgt` null only the source side is filled (translation).
Batch collate(const Sequences& src, const Sequences* tgt, std::vector<int64_t> indices);
// Target side only (sentence language models): SOS ... EOS sequences sorted by length.
Batch collate_targets(const Sequences& tgt, std::vector<int64_t> indices);

}  // namespace nmt
