// Tokenizers turn a line into tokens and tokens back into text.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace nmt {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<std::string> tokenize(std::string_view line) const = 0;
  virtual std::string detokenize(const std::vector<std::string>& tokens) const = 0;
};

// Full Unicode lowercasing (ICU), e.g. "MÄNNER" -> "männer".
std::string lowercase_utf8(std::string_view text);

// `spm_model` is the SentencePiece model file, used only by the sentencepiece type.
std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerConfig& config, const std::string& spm_model = "");

// Trains a SentencePiece model on the lines of `text_file` and writes `<model_prefix>.model`.
void train_sentencepiece(const std::string& text_file, const std::string& model_prefix,
                         const TokenizerConfig& config);

}  // namespace nmt
