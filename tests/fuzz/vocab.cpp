// The vocabulary file reader: a file it accepts saves back to the same vocabulary; anything else
// is an error naming the file.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "data/vocab.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nmt::fuzz::InputFile file(data, size);
  nmt::Vocab vocab;
  try {
    vocab = nmt::Vocab::load(file.path());
  } catch (const std::runtime_error& e) {
    nmt::fuzz::require(std::string(e.what()).find(file.path()) != std::string::npos, "the error names the file");
    return 0;
  }
  nmt::fuzz::require(vocab.size() >= 4, "a loaded vocabulary holds the specials");
  for (int32_t id = 0; id < vocab.size(); ++id) nmt::fuzz::require(vocab.id(vocab.token(id)) == id, "ids and tokens agree");
  const std::string text = vocab.to_text();
  const nmt::fuzz::InputFile again(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  nmt::fuzz::require(nmt::Vocab::load(again.path()).to_text() == text, "a saved vocabulary loads back the same");
  return 0;
}
