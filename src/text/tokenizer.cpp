#include "text/tokenizer.hpp"

#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <stdexcept>

#include "text/sentencepiece.hpp"
#include "text/utf8.hpp"

namespace nmt {

std::string lowercase_utf8(std::string_view text) {
  // Fast path: below U+0370 (Latin scripts) the simple per-character mapping equals ICU's full
  // one, except for U+0130 (dotted capital I). Anything else: ICU's full mapping of the line.
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      out.push_back(static_cast<char>(byte >= 'A' && byte <= 'Z' ? byte + 32 : byte));
      ++i;
      continue;
    }
    const bool two_bytes = (byte & 0xE0) == 0xC0 && i + 1 < text.size();
    const char32_t c = two_bytes ? ((byte & 0x1F) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F) : 0;
    if (!two_bytes || c >= 0x370 || c == 0x130) {
      std::string full;
      icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())))
          .toLower()
          .toUTF8String(full);
      return full;
    }
    append_utf8(out, static_cast<char32_t>(u_tolower(static_cast<UChar32>(c))));
    i += 2;
  }
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
    size_t word_start = std::string::npos;  // byte offset where the current word began
    auto flush = [&](size_t end) {
      if (word_start != std::string::npos) tokens.emplace_back(text, word_start, end - word_start);
      word_start = std::string::npos;
    };
    for (size_t i = 0; i < text.size();) {
      char32_t c;
      const size_t length = decode_utf8(text, i, c);
      if (is_python_space(c) || (c >= 0x80 && u_isspace(static_cast<UChar32>(c)))) {
        flush(i);
      } else if (is_word_char(c)) {
        if (word_start == std::string::npos) word_start = i;
      } else {
        flush(i);
        tokens.emplace_back(text, i, length);
      }
      i += length;
    }
    flush(text.size());
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

// Unicode code points, spaces included: the character-level language-model unit.
class CharTokenizer : public Tokenizer {
 public:
  explicit CharTokenizer(bool lowercase) : lowercase_(lowercase) {}
  std::vector<std::string> tokenize(std::string_view line) const override {
    const std::string text = maybe_lower(line, lowercase_);
    std::vector<std::string> tokens;
    tokens.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
      char32_t c;
      const size_t length = decode_utf8(text, i, c);
      tokens.emplace_back(text, i, length);
      i += length;
    }
    return tokens;
  }
  std::string detokenize(const std::vector<std::string>& tokens) const override {
    std::string out;
    for (const auto& token : tokens) out += token;
    return out;
  }

 private:
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
  if (config.type == "char") return std::make_unique<CharTokenizer>(config.lowercase);
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
