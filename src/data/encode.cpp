#include "data/encode.hpp"

#include <algorithm>

namespace nmt {

std::vector<int32_t> lookup_ids(const std::vector<std::string>& tokens, const Vocab& vocab) {
  std::vector<int32_t> ids(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) ids[i] = vocab.id(tokens[i]);
  return ids;
}

std::vector<int32_t> truncate_source(const std::vector<int32_t>& ids, int64_t max_len) {
  return {ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), static_cast<size_t>(max_len)))};
}

void wrap_target_into(const std::vector<int32_t>& ids, int64_t max_len, std::vector<int32_t>& out) {
  const size_t kept = std::min(ids.size(), static_cast<size_t>(max_len - 2));
  out.resize(kept + 2);
  out.front() = kSos;
  std::copy(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(kept), out.begin() + 1);
  out.back() = kEos;
}

std::vector<int32_t> wrap_target(const std::vector<int32_t>& ids, int64_t max_len) {
  std::vector<int32_t> wrapped;
  wrap_target_into(ids, max_len, wrapped);
  return wrapped;
}

std::vector<int32_t> encode_source(const std::vector<std::string>& tokens, const Vocab& vocab, int64_t max_len) {
  return truncate_source(lookup_ids(tokens, vocab), max_len);
}

std::vector<int32_t> encode_target(const std::vector<std::string>& tokens, const Vocab& vocab, int64_t max_len) {
  return wrap_target(lookup_ids(tokens, vocab), max_len);
}

Sequences sentence_sequences(const Sequences& lines, int64_t max_len) {
  Sequences sentences;
  for (size_t i = 0; i < lines.size(); ++i)
    if (lines.length(i) > 0)
      sentences.push_back(wrap_target({lines.data(i), lines.data(i) + lines.length(i)}, max_len));
  return sentences;
}

}  // namespace nmt
