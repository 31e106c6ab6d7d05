// Text in, text out: tokenize, encode, search, post-process (UNK replacement, detokenization),
// with one model or an ensemble.
#pragma once
#include <string>
#include <vector>

#include "bundle/trained_model.hpp"
#include "search/search.hpp"

namespace nmt {

struct Translation {
  std::vector<std::string> src_tokens;  // the first model's
  struct Candidate {
    std::string text;
    std::vector<std::string> tokens;
    double score = 0;
    std::vector<std::vector<float>> attention;  // the first model's, over src_tokens
  };
  std::vector<Candidate> candidates;  // best first
};

// A model of an ensemble and its weight.
struct WeightedModel {
  TrainedModel* model;
  double weight = 1.0;
};

class Translator {
 public:
  // Each model tokenizes and encodes the source its own way; all must be translation models
  // with the same target vocabulary, else this throws naming the models and what differs. The
  // first model detokenizes, and its source tokens are those UNK replacement copies from; its
  // shortlist (prepare_decoding) restricts every member. Members decode in int8 all or none.
  Translator(std::vector<WeightedModel> models, SearchOptions options, int64_t batch_size, bool replace_unk,
             torch::Device device);
  Translator(TrainedModel& model, SearchOptions options, int64_t batch_size, bool replace_unk, torch::Device device)
      : Translator({{&model, 1.0}}, options, batch_size, replace_unk, device) {}
  std::vector<Translation> translate(const std::vector<std::string>& lines) { return translate(lines, options_); }
  // With other search options for these lines (the server's per-request beam and candidates).
  std::vector<Translation> translate(const std::vector<std::string>& lines, SearchOptions options);
  int64_t truncated_lines() const { return truncated_; }

 private:
  std::vector<WeightedModel> models_;
  SearchOptions options_;
  int64_t batch_size_;
  bool replace_unk_;
  torch::Device device_;
  int64_t truncated_ = 0;
  std::shared_ptr<Int8Weights> int8_;  // every member's int8 matrices; null in fp32
};

}  // namespace nmt
