// Small untrained translation models and search settings for decoding tests that need no training.
#pragma once
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "model/seq2seq.hpp"
#include "search/search.hpp"

namespace nmt::test {

// A seeded random model over source and target vocabularies of `vocab` ids, in eval mode.
inline Seq2Seq random_seq2seq(const std::string& cell, const std::string& attention, uint64_t seed, int64_t vocab) {
  torch::manual_seed(seed);
  ModelConfig config = parse_config("", "t").model;
  config.cell = cell;
  config.attention = attention;
  config.emb_size = 16;
  config.enc_hidden = 16;
  config.dec_hidden = attention == "dot" ? 32 : 24;
  config.dropout = 0;
  Seq2Seq model(config, vocab, vocab);
  model->eval();
  return model;
}

// Beam search keeping `beam` candidates, short outputs and a length penalty of 1.
inline SearchOptions options_with_beam(int64_t beam) {
  SearchOptions options;
  options.beam_size = beam;
  options.nbest = beam;
  options.max_len_b = 12;
  options.length_penalty = 1.0;
  return options;
}

}  // namespace nmt::test
