// Tokenizers turn a line into tokens and tokens back into text.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace nmt {

// One line's tokens as views into `text`. Refilled in place line after line, so tokenizing
// allocates nothing per token: the preprocessing hot path tokenizes millions of lines.
class TokenizedLine {
 public:
  std::string text;  // the line as tokenized (lowercased where configured)
  size_t size() const { return spans_.size(); }
  bool empty() const { return spans_.empty(); }
  std::string_view operator[](size_t i) const {
    return std::string_view(text).substr(spans_[i].first, spans_[i].second);
  }
  void clear_tokens() { spans_.clear(); }
  void add_token(size_t begin, size_t length) { spans_.emplace_back(begin, length); }
  std::vector<std::string> strings() const;

 private:
  std::vector<std::pair<size_t, size_t>> spans_;  // (byte offset, byte length) in `text`
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Overwrites `out` with the tokens of `line`.
  virtual void tokenize_into(std::string_view line, TokenizedLine& out) const = 0;
  std::vector<std::string> tokenize(std::string_view line) const;
  virtual std::string detokenize(const std::vector<std::string>& tokens) const = 0;
};

// Full Unicode lowercasing (ICU), e.g. "MÄNNER" -> "männer".
std::string lowercase_utf8(std::string_view text);
// The same into `out` (overwritten), reusing its buffer.
void lowercase_utf8_into(std::string_view text, std::string& out);

// `spm_model` is the SentencePiece model file, used only by the sentencepiece type.
std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerConfig& config, const std::string& spm_model = "");

// Trains a SentencePiece model on the lines of `text_file` and writes `<model_prefix>.model`.
void train_sentencepiece(const std::string& text_file, const std::string& model_prefix,
                         const TokenizerConfig& config);

}  // namespace nmt
