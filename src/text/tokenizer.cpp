#include "text/tokenizer.hpp"

#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <array>
#include <stdexcept>

#include "text/sentencepiece.hpp"
#include "text/utf8.hpp"

namespace nmt {

void lowercase_utf8_into(std::string_view text, std::string& out) {
  // Fast path: below U+0370 (Latin scripts) the simple per-character mapping equals ICU's full
  // one, except for U+0130 (dotted capital I), and keeps each character's byte length, so the
  // output fits in the input's size. Anything else: ICU's full mapping of the line.
  out.resize(text.size());
  char* written = out.data();
  for (size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      *written++ = static_cast<char>(byte >= 'A' && byte <= 'Z' ? byte + 32 : byte);
      ++i;
      continue;
    }
    const bool two_bytes = (byte & 0xE0) == 0xC0 && i + 1 < text.size();
    const char32_t c = two_bytes ? ((byte & 0x1F) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F) : 0;
    const auto lower = static_cast<char32_t>(u_tolower(static_cast<UChar32>(c)));
    if (!two_bytes || c >= 0x370 || c == 0x130 || lower < 0x80 || lower >= 0x800) {
      out.clear();
      icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())))
          .toLower()
          .toUTF8String(out);
      return;
    }
    *written++ = static_cast<char>(0xC0 | (lower >> 6));
    *written++ = static_cast<char>(0x80 | (lower & 0x3F));
    i += 2;
  }
  out.resize(static_cast<size_t>(written - out.data()));
}

std::string lowercase_utf8(std::string_view text) {
  std::string out;
  lowercase_utf8_into(text, out);
  return out;
}

std::vector<std::string> TokenizedLine::strings() const {
  std::vector<std::string> tokens;
  tokens.reserve(size());
  for (size_t i = 0; i < size(); ++i) tokens.emplace_back((*this)[i]);
  return tokens;
}

std::vector<std::string> Tokenizer::tokenize(std::string_view line) const {
  TokenizedLine tokens;
  tokenize_into(line, tokens);
  return tokens.strings();
}

namespace {

// Starts `out` over with the line's text, lowercased where configured.
void load_text(std::string_view line, bool lowercase, TokenizedLine& out) {
  out.clear_tokens();
  if (lowercase)
    lowercase_utf8_into(line, out.text);
  else
    out.text.assign(line);
}

std::string join(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& token : tokens) out += (out.empty() ? "" : " ") + token;
  return out;
}

class WhitespaceTokenizer : public Tokenizer {
 public:
  explicit WhitespaceTokenizer(bool lowercase) : lowercase_(lowercase) {}
  void tokenize_into(std::string_view line, TokenizedLine& out) const override {
    load_text(line, lowercase_, out);
    for_each_python_word(out.text, [&](size_t begin, size_t length) { out.add_token(begin, length); });
  }
  std::string detokenize(const std::vector<std::string>& tokens) const override { return join(tokens); }

 private:
  bool lowercase_;
};

// Words are runs of letters, marks and digits; every other visible character is its own token.
class WordTokenizer : public Tokenizer {
 public:
  explicit WordTokenizer(bool lowercase) : lowercase_(lowercase) {}
  void tokenize_into(std::string_view line, TokenizedLine& out) const override {
    load_text(line, lowercase_, out);
    const std::string_view text = out.text;
    size_t word_start = std::string_view::npos;  // byte offset where the current word began
    auto flush = [&](size_t end) {
      if (word_start != std::string_view::npos) out.add_token(word_start, end - word_start);
      word_start = std::string_view::npos;
    };
    for (size_t i = 0; i < text.size();) {
      const auto byte = static_cast<unsigned char>(text[i]);
      size_t length = 1;
      Kind kind;
      if (byte < 0x80) {
        kind = kAsciiKinds[byte];
      } else {
        char32_t c;
        length = decode_utf8(text, i, c);
        kind = kind_of(c);
      }
      if (kind == Kind::word) {
        if (word_start == std::string_view::npos) word_start = i;
      } else {
        flush(i);
        if (kind == Kind::symbol) out.add_token(i, length);
      }
      i += length;
    }
    flush(text.size());
  }
  std::string detokenize(const std::vector<std::string>& tokens) const override { return join(tokens); }

 private:
  enum class Kind : uint8_t { space, word, symbol };
  static Kind kind_of(char32_t c) {
    if (is_python_space(c) || (c >= 0x80 && u_isspace(static_cast<UChar32>(c)))) return Kind::space;
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? Kind::word : Kind::symbol;
    const auto category = U_GET_GC_MASK(c);
    return (category & (U_GC_L_MASK | U_GC_M_MASK | U_GC_N_MASK)) != 0 ? Kind::word : Kind::symbol;
  }
  static std::array<Kind, 128> ascii_kinds() {
    std::array<Kind, 128> kinds{};
    for (char32_t c = 0; c < 128; ++c) kinds[c] = kind_of(c);
    return kinds;
  }
  static inline const std::array<Kind, 128> kAsciiKinds = ascii_kinds();
  bool lowercase_;
};

// Unicode code points, spaces included: the character-level language-model unit.
class CharTokenizer : public Tokenizer {
 public:
  explicit CharTokenizer(bool lowercase) : lowercase_(lowercase) {}
  void tokenize_into(std::string_view line, TokenizedLine& out) const override {
    load_text(line, lowercase_, out);
    for (size_t i = 0; i < out.text.size();) {
      char32_t c;
      const size_t length = decode_utf8(out.text, i, c);
      out.add_token(i, length);
      i += length;
    }
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
  // The tokens point into the concatenation of the pieces.
  void tokenize_into(std::string_view line, TokenizedLine& out) const override {
    const auto pieces = model_.encode(lowercase_ ? lowercase_utf8(line) : std::string(line));
    out.clear_tokens();
    out.text.clear();
    for (const auto& piece : pieces) {
      out.add_token(out.text.size(), piece.size());
      out.text += piece;
    }
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
