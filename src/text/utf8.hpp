// UTF-8 validation and code point iteration.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace nmt {

// Returns the byte offset of the first invalid sequence, or npos when `text` is valid UTF-8.
size_t find_invalid_utf8(std::string_view text);
std::u32string utf8_to_u32(std::string_view text);  // expects valid UTF-8
// Decodes the code point at text[i] into `out` and returns its byte length (invalid: U+FFFD, 1).
size_t decode_utf8(std::string_view text, size_t i, char32_t& out);
void append_utf8(std::string& out, char32_t code_point);
// Whitespace as Python's str.split() sees it (includes U+00A0 and U+3000).
bool is_python_space(char32_t c);
// Calls word(begin, length) for each run of non-whitespace bytes, as Python's str.split() splits.
template <typename Word>
void for_each_python_word(std::string_view text, const Word& word) {
  size_t start = std::string_view::npos;
  for (size_t i = 0; i < text.size();) {
    char32_t c;
    const size_t length = decode_utf8(text, i, c);
    if (is_python_space(c)) {
      if (start != std::string_view::npos) word(start, i - start);
      start = std::string_view::npos;
    } else if (start == std::string_view::npos) {
      start = i;
    }
    i += length;
  }
  if (start != std::string_view::npos) word(start, text.size() - start);
}
// Splits on Python whitespace, like str.split() with no argument.
std::vector<std::string> python_split(std::string_view text);

}  // namespace nmt
