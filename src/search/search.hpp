// Greedy and beam search over the decoder's one-token step().
#pragma once
#include <torch/torch.h>

#include <vector>

#include "config/config.hpp"
#include "data/special_tokens.hpp"
#include "search/step_scorer.hpp"

namespace nmt {

struct Hypothesis {
  std::vector<int32_t> tokens;  // without SOS and EOS
  double score = 0;             // sum of log-probabilities (EOS included)
  double normalized = 0;        // score / GNMT length penalty (beam search ranking)
  std::vector<std::vector<float>> attention;  // [target position][source position]
};

struct SearchOptions {
  int64_t beam_size = 1;
  int64_t nbest = 1;
  double length_penalty = 0.6;  // GNMT alpha
  double max_len_a = 2.0;
  int64_t max_len_b = 10;
  bool keep_attention = false;
  int32_t start_token = kSos;  // the first decoder input; a language model continues from its prompt
  bool stop_at_eos = true;     // false: EOS is an ordinary token (a stream LM's line break)
  // Beam search ends a sentence once its best ended hypothesis outscores (length-normalized) every
  // live one, instead of waiting for beam_size ended ones (decoding.beam_stop best).
  bool stop_at_best = false;
};

// The search settings of a config's decoding section (beam_size, length penalty, length limits).
SearchOptions search_options(const DecodingConfig& decoding);

// `scorer` starts with one row per sentence; the search advances and reorders it. `src_len`
// gives each sentence's source length (for max_len_a * len + b).
// Returns, per sentence, its best hypotheses (one for greedy, nbest for beam).
std::vector<std::vector<Hypothesis>> greedy_search(StepScorer& scorer, const std::vector<int64_t>& src_len,
                                                   const SearchOptions& options);
std::vector<std::vector<Hypothesis>> beam_search(StepScorer& scorer, const std::vector<int64_t>& src_len,
                                                 const SearchOptions& options);
double gnmt_length_penalty(size_t length, double alpha);

}  // namespace nmt
