// A trained model directory: config, vocabularies, tokenizer models and checkpoints.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "data/vocab.hpp"
#include "model/seq2seq.hpp"
#include "text/tokenizer.hpp"

namespace nmt {

struct LoadedModel {
  Config config;
  Vocabs vocabs;
  std::unique_ptr<Tokenizer> src_tokenizer, tgt_tokenizer;
  Seq2Seq model{nullptr};
  std::string checkpoint;
  nlohmann::json meta;
};

// Loads `checkpoint`, or the directory's best (else latest) checkpoint when empty. `overrides`
// (--set key=value) apply to the directory's config, e.g. decoding.length_penalty.
LoadedModel load_model_dir(const std::string& dir, const std::string& checkpoint, const torch::Device& device,
                           const std::vector<std::string>& overrides = {});
// What a checkpoint must agree on with the model it is loaded into.
nlohmann::json model_identity(const Config& config, const std::string& vocab_dir);

}  // namespace nmt
