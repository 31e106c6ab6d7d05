// Batches of similar-length pairs, in an order that depends only on (seed, epoch).
#pragma once
#include <cstdint>
#include <vector>

#include "data/corpus.hpp"

namespace nmt {

struct BucketOptions {
  int64_t batch_size = 64;     // sentences per batch
  int64_t batch_tokens = 0;    // if > 0, also cap padded tokens (max length * sentences) per batch
  int64_t pool_batches = 100;  // sort within pools of this many batches
  uint64_t seed = 1;
};

class BucketSampler {
 public:
  BucketSampler(std::vector<int64_t> src_lengths, std::vector<int64_t> tgt_lengths, BucketOptions options);
  static BucketSampler for_corpus(const ParallelCorpus& corpus, BucketOptions options);
  // Every pair exactly once, shuffled pools sorted by (src, tgt) length, batches shuffled.
  std::vector<std::vector<int64_t>> epoch_batches(int64_t epoch) const;
  // Fraction of padding positions (source and target together) in an epoch's batches.
  double padding_fraction(const std::vector<std::vector<int64_t>>& batches) const;

 private:
  std::vector<int64_t> src_lengths_, tgt_lengths_;
  BucketOptions options_;
};

}  // namespace nmt
