// The encoded corpus reader (<split>.<side>.bin): a file it accepts has every sentence inside its
// token array; anything else is an error naming the file, without allocating what the header claims.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "data/corpus.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nmt::fuzz::InputFile file(data, size);
  nmt::Sequences sequences;
  try {
    sequences = nmt::read_sequences(file.path());
  } catch (const std::runtime_error& e) {
    nmt::fuzz::require(std::string(e.what()).find(file.path()) != std::string::npos, "the error names the file");
    return 0;
  }
  int64_t sum = 0;
  for (size_t i = 0; i < sequences.size(); ++i) {
    nmt::fuzz::require(sequences.length(i) >= 0, "sentence lengths are not negative");
    nmt::fuzz::require(sequences.offsets[i + 1] <= sequences.tokens.size(), "sentences lie in the token array");
    for (int64_t t = 0; t < sequences.length(i); ++t) sum += sequences.data(i)[t];
  }
  // Every token was read, so AddressSanitizer sees any read outside the array.
  volatile int64_t sink = sum;
  (void)sink;
  return 0;
}
