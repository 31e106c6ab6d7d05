// A trained model directory: config, vocabularies, tokenizer models and checkpoints.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "data/vocab.hpp"
#include "model/language_model.hpp"
#include "model/seq2seq.hpp"
#include "text/tokenizer.hpp"

namespace nmt {

struct LoadedModel {
  Config config;
  Vocabs vocabs;  // a language model's text vocabulary is in both
  std::unique_ptr<Tokenizer> src_tokenizer, tgt_tokenizer;  // a language model's text tokenizer is in both
  Seq2Seq model{nullptr};                  // task: nmt
  LanguageModel language_model{nullptr};  // task: lm
  torch::nn::Module& module() const {
    if (model) return *model.ptr();
    return *language_model.ptr();
  }
  std::string checkpoint;
  nlohmann::json meta;
};

// Loads `checkpoint`, or the directory's best (else latest) checkpoint when empty. `overrides`
// (--set key=value) apply to the directory's config, e.g. decoding.length_penalty.
LoadedModel load_model_dir(const std::string& dir, const std::string& checkpoint, const torch::Device& device,
                           const std::vector<std::string>& overrides = {});
// Throws a clear error when the directory holds a model of another task, e.g. a language
// model given to `translate`; `use_instead` names what to run instead.
void require_task(const LoadedModel& loaded, const std::string& task, const std::string& dir,
                  const std::string& use_instead);
// What a checkpoint must agree on with the model it is loaded into.
nlohmann::json model_identity(const Config& config, const std::string& vocab_dir);

}  // namespace nmt
