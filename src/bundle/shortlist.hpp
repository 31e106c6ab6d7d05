// A lexical shortlist: the target tokens a sentence may produce, from its source tokens' likely
// translations and the most frequent target tokens, counted once over the training data and kept
// in the model directory. Decoding with it scores only those tokens at each step.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/corpus.hpp"
#include "data/vocab.hpp"

namespace nmt {

// DIR/shortlist.json
std::string shortlist_path(const std::string& model_dir);

class Shortlist {
 public:
  // Counts sentence pairs of `corpus` (ids of `vocabs`): the target tokens by frequency (<unk>
  // among them, where the targets hold it), and for each source token the target tokens that
  // co-occur with it, ranked by the Dice coefficient 2 c(s,t) / (c(s) + c(t)) over sentence pairs,
  // which ranks a word's translation above the frequent words every sentence has. Keeps the first
  // `keep_frequent` and `keep_per_source`.
  static Shortlist build(const ParallelCorpus& corpus, const Vocabs& vocabs, int64_t keep_frequent,
                         int64_t keep_per_source);
  // Reads `path`; throws naming it when it is malformed or was built for other vocabularies.
  static Shortlist load(const std::string& path, const Vocabs& vocabs);
  void save(const std::string& path) const;

  // The target tokens (sorted ids) a sentence of `source` ids may produce: the `frequent` most
  // frequent, the `per_source` best of each source token, and EOS.
  std::vector<int64_t> candidates(const int32_t* source, int64_t length, int64_t frequent, int64_t per_source) const;
  // The most `frequent` and `per_source` that candidates() can honour: what build() kept.
  int64_t stored_frequent() const { return frequent_limit_; }
  int64_t stored_per_source() const { return per_source_; }

 private:
  std::string source_fingerprint_, target_fingerprint_;
  std::vector<int32_t> frequent_;                   // target ids, most frequent first
  std::vector<std::vector<int32_t>> translations_;  // by source id, best first
  int64_t frequent_limit_ = 0, per_source_ = 0;
};

// A vocabulary's identity: its size and a hash of its tokens in id order.
std::string vocab_fingerprint(const Vocab& vocab);

}  // namespace nmt
