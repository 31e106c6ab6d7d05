#include "text/tokenizer.hpp"

#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <stdexcept>

#include "text/sentencepiece.hpp"
#include "text/utf8.hpp"

namespace nmt {

std::string lowercase_utf8(std::string_view text) {
  bool ascii = true;
  for (unsigned char c : text) ascii &= c < 0x80;
  if (ascii) {  // fast path: most corpora are mostly ASCII
    std::string out(text);
    for (auto& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return out;
  }
  std::string out;
  icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())))
      .toLower()
      .toUTF8String(out);
  return out;
}

namespace {

std::string maybe_lower(std::string_view line, bool lowercase) {
  return lowercase ? lowercase_utf8(line) : std::string(line);
}

std::string join(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& token : tokens) out += (out.empty() ? "" : " ") + token;
  return out;
}

class WhitespaceTokenizer : public Tokenizer {
 public:
  explicit WhitespaceTokenizer(bool lowercase) : lowercase_(lowercase) {}
  std::vector<std::string> tokenize(std::string_view line) const override {
    return python_split(maybe_lower(line, lowercase_));
  }
  std::string detokenize(const std::vector<std::string>& tokens) const override { return join(tokens); }

 private:
  bool lowercase_;
};

// Words are runs of letters, marks and digits; every other visible character is its own token.
class WordTokenizer : public Tokenizer {
 public:
  explicit WordTokenizer(bool lowercase) : lowercase_(lowercase) {}
  std::vector<std::string> tokenize(std::string_view line) const override {
    const std::string text = maybe_lower(line, lowercase_);
    std::vector<std::string> tokens;
    std::string word;
    auto flush = [&] {
      if (!word.empty()) tokens.push_back(std::move(word)), word.clear();
    };
    for (char32_t c : utf8_to_u32(text)) {
      if (is_python_space(c) || u_isspace(c)) {
        flush();
      } else if (is_word_char(c)) {
        append_utf8(word, c);
      } else {
        flush();
        std::string symbol;
        append_utf8(symbol, c);
        tokens.push_back(std::move(symbol));
      }
    }
    flush();
    return tokens;
  }
  std::string detokenize(const std::vector<std::string>& tokens) const override { return join(tokens); }

 private:
  static bool is_word_char(char32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    const auto category = U_GET_GC_MASK(c);
    return (category & (U_GC_L_MASK | U_GC_M_MASK | U_GC_N_MASK)) != 0;
  }
  bool lowercase_;
};

class SentencePieceTokenizer : public Tokenizer {
 public:
  SentencePieceTokenizer(const std::string& model, bool lowercase) : model_(model), lowercase_(lowercase) {}
  std::vector<std::string> tokenize(std::string_view line) const override {
    return model_.encode(maybe_lower(line, lowercase_));
  }
  std::string detokenize(const std::vector<std::string>& tokens) const override { return model_.decode(tokens); }

 private:
  SentencePieceModel model_;
  bool lowercase_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerConfig& config, const std::string& spm_model) {
  if (config.type == "whitespace") return std::make_unique<WhitespaceTokenizer>(config.lowercase);
  if (config.type == "word") return std::make_unique<WordTokenizer>(config.lowercase);
  if (config.type == "sentencepiece") return std::make_unique<SentencePieceTokenizer>(spm_model, config.lowercase);
  throw std::runtime_error("unknown tokenizer type '" + config.type + "'");
}

void train_sentencepiece(const std::string& text_file, const std::string& model_prefix,
                         const TokenizerConfig& config) {
  // nmt owns the special ids, so SentencePiece gets no control symbols of its own.
  sentencepiece_train({"--input=" + text_file, "--model_prefix=" + model_prefix,
                       "--vocab_size=" + std::to_string(config.vocab_size), "--model_type=" + config.model_type,
                       "--character_coverage=1.0", "--bos_id=-1", "--eos_id=-1", "--pad_id=-1", "--unk_id=0",
                       "--hard_vocab_limit=false", "--minloglevel=2", "--num_threads=2"});
}

}  // namespace nmt
