// Text in, text out: tokenize, encode, search, post-process (UNK replacement, detokenization).
#pragma once
#include <string>
#include <vector>

#include "bundle/trained_model.hpp"
#include "search/search.hpp"

namespace nmt {

struct Translation {
  std::vector<std::string> src_tokens;
  struct Candidate {
    std::string text;
    std::vector<std::string> tokens;
    double score = 0;
    std::vector<std::vector<float>> attention;
  };
  std::vector<Candidate> candidates;  // best first
};

class Translator {
 public:
  // Throws a clear error when `model` holds a language model.
  Translator(TrainedModel& model, SearchOptions options, int64_t batch_size, bool replace_unk, torch::Device device);
  std::vector<Translation> translate(const std::vector<std::string>& lines);
  int64_t truncated_lines() const { return truncated_; }

 private:
  TrainedModel& model_;
  Seq2Seq network_;
  SearchOptions options_;
  int64_t batch_size_;
  bool replace_unk_;
  torch::Device device_;
  int64_t truncated_ = 0;
};

}  // namespace nmt
