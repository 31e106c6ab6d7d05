// training.init_from: the trained model a fine-tuning run starts from, checked against the
// new run's config before anything is preprocessed or trained.
#pragma once
#include <optional>
#include <string>

#include "config/config.hpp"

namespace nmt {

struct InitModel {
  std::string dir;
  std::string checkpoint;  // training.init_checkpoint, else the model's best, else its latest
  Config config;           // the trained model's own config
};

// Nothing when training.init_from is unset. Otherwise throws, naming the keys, unless the
// directory holds a model of the same task, with the same model section and the same
// tokenization (data.tokenizer.type, data.tokenizer.lowercase, data.vocab.shared): the new
// run takes over its weights, vocabularies and SentencePiece models.
std::optional<InitModel> find_init_model(const Config& config);

}  // namespace nmt
