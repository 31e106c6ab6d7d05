// A trained model directory loaded for use: config, vocabularies, tokenizers and the network of
// its task, restored from one checkpoint.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <variant>

#include "bundle/shortlist.hpp"
#include "config/config.hpp"
#include "data/vocab.hpp"
#include "model/language_model.hpp"
#include "model/seq2seq.hpp"
#include "text/tokenizer.hpp"

namespace nmt {

class TrainedModel {
 public:
  using Network = std::variant<Seq2Seq, LanguageModel>;

  Config config;
  Vocabs vocabs;  // a language model's text vocabulary is in both
  std::unique_ptr<Tokenizer> src_tokenizer, tgt_tokenizer;  // a language model's text tokenizer is in both
  std::string dir, checkpoint;
  nlohmann::json meta;
  // What prepare_decoding() sets up: the int8 matrices and the shortlist; null when not asked for.
  std::shared_ptr<const Int8Weights> int8;
  std::shared_ptr<const Shortlist> shortlist;

  TrainedModel(Config config, Vocabs vocabs, Network network);
  bool is_translation_model() const { return std::holds_alternative<Seq2Seq>(network_); }
  // The network of each task; asking for the other task's throws a clear error naming the
  // directory and the commands that take what it holds.
  Seq2Seq& translation_model();
  LanguageModel& language_model();
  torch::nn::Module& module();

 private:
  Network network_;
};

// Loads `checkpoint`, or the directory's best (else latest) checkpoint when empty. `overrides`
// (--set key=value) apply to the directory's config, e.g. decoding.length_penalty.
TrainedModel load_trained_model(const std::string& dir, const std::string& checkpoint, const torch::Device& device,
                                const std::vector<std::string>& overrides = {});
// Sets up what the config's decoding section asks for: decoding.precision int8 quantizes the
// matrices; decoding.shortlist loads the directory's shortlist. Both need a translation model;
// errors name the directory and what is missing.
void prepare_decoding(TrainedModel& model);

}  // namespace nmt
