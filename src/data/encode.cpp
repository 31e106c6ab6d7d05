#include "data/encode.hpp"

#include <algorithm>

namespace nmt {

std::vector<int32_t> encode_source(const std::vector<std::string>& tokens, const Vocab& vocab, int64_t max_len) {
  const size_t kept = std::min(tokens.size(), static_cast<size_t>(max_len));
  std::vector<int32_t> ids(kept);
  for (size_t i = 0; i < kept; ++i) ids[i] = vocab.id(tokens[i]);
  return ids;
}

std::vector<int32_t> encode_target(const std::vector<std::string>& tokens, const Vocab& vocab, int64_t max_len) {
  const size_t kept = std::min(tokens.size(), static_cast<size_t>(max_len - 2));
  std::vector<int32_t> ids(kept + 2);
  ids.front() = kSos;
  for (size_t i = 0; i < kept; ++i) ids[i + 1] = vocab.id(tokens[i]);
  ids.back() = kEos;
  return ids;
}

}  // namespace nmt
