// UTF-8 validation and decoding, and each tokenizer (whitespace, word with ICU lowercasing, char)
// on the lines that pass validation, as the line reader hands them on.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "fuzz_input.hpp"
#include "text/tokenizer.hpp"
#include "text/utf8.hpp"

namespace {

const nmt::Tokenizer& tokenizer(const std::string& type, bool lowercase) {
  static std::map<std::pair<std::string, bool>, std::unique_ptr<nmt::Tokenizer>> made;
  auto& slot = made[{type, lowercase}];
  if (!slot) {
    nmt::TokenizerConfig config;
    config.type = type;
    config.lowercase = lowercase;
    slot = nmt::make_tokenizer(config);
  }
  return *slot;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const size_t invalid = nmt::find_invalid_utf8(text);
  nmt::fuzz::require(invalid == std::string_view::npos || invalid < size, "the invalid offset lies in the text");
  // Decoding never reads past the end, valid or not.
  for (size_t i = 0; i < size;) {
    char32_t c;
    const size_t length = nmt::decode_utf8(text, i, c);
    nmt::fuzz::require(length >= 1 && i + length <= size, "a decoded sequence lies in the text");
    i += length;
  }
  if (invalid != std::string_view::npos) return 0;
  std::string encoded;
  for (char32_t c : nmt::utf8_to_u32(text)) nmt::append_utf8(encoded, c);
  nmt::fuzz::require(encoded == text, "valid UTF-8 decodes and encodes back to itself");
  for (const char* type : {"whitespace", "word", "char"}) {
    for (bool lowercase : {false, true}) {
      const auto tokens = tokenizer(type, lowercase).tokenize(text);
      for (const auto& token : tokens) {
        nmt::fuzz::require(!token.empty(), "no token is empty");
        nmt::fuzz::require(nmt::find_invalid_utf8(token) == std::string::npos, "tokens of valid text are valid UTF-8");
      }
      const std::string detokenized = tokenizer(type, lowercase).detokenize(tokens);
      nmt::fuzz::require(nmt::find_invalid_utf8(detokenized) == std::string::npos, "detokenized text is valid UTF-8");
    }
  }
  return 0;
}
