// The line reader on plain and gzip bytes: every line it returns is valid UTF-8 without a
// newline; corrupt gzip and invalid UTF-8 are errors naming the file and line.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fuzz_input.hpp"
#include "text/line_reader.hpp"
#include "text/utf8.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nmt::fuzz::InputFile file(data, size);
  try {
    nmt::LineReader reader(file.path());
    for (std::string line; reader.next(line);) {
      nmt::fuzz::require(line.find('\n') == std::string::npos, "a line holds no newline");
      nmt::fuzz::require(nmt::find_invalid_utf8(line) == std::string::npos, "every line returned is valid UTF-8");
    }
  } catch (const std::runtime_error& e) {
    nmt::fuzz::require(std::string(e.what()).find(file.path()) != std::string::npos, "the error names the file");
  }
  return 0;
}
