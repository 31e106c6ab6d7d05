#include "data/token_streams.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "data/vocab.hpp"

namespace nmt {

TokenStreams::TokenStreams(const Sequences& lines, int64_t streams) {
  std::vector<int32_t> flat;
  flat.reserve(lines.tokens.size() + lines.size() + 1);
  flat.push_back(kEos);
  for (size_t i = 0; i < lines.size(); ++i) {
    flat.insert(flat.end(), lines.data(i), lines.data(i) + lines.length(i));
    flat.push_back(kEos);
  }
  predictions_ = static_cast<int64_t>(flat.size()) - 1;
  const int64_t count = std::max<int64_t>(1, std::min(streams, predictions_));
  int64_t start = 0;
  for (int64_t b = 0; b < count; ++b) {  // the first (predictions % count) streams get one more
    const int64_t length = predictions_ / count + (b < predictions_ % count ? 1 : 0);
    starts_.push_back(start);
    lengths_.push_back(length);
    start += length;
  }
  matrix_ = torch::full({length() + 1, count}, kPad, torch::kInt64);
  auto matrix = matrix_.accessor<int64_t, 2>();
  for (int64_t b = 0; b < count; ++b)
    for (int64_t t = 0; t <= lengths_[static_cast<size_t>(b)]; ++t)
      matrix[t][b] = flat[static_cast<size_t>(starts_[static_cast<size_t>(b)] + t)];
}

std::pair<torch::Tensor, torch::Tensor> TokenStreams::window(int64_t begin, int64_t length) const {
  // Column b holds lengths_[b] + 1 real tokens then PAD, so targets past its end are PAD.
  return {matrix_.slice(0, begin, begin + length), matrix_.slice(0, begin + 1, begin + 1 + length)};
}

int64_t TokenStreams::target_tokens(int64_t begin, int64_t length) const {
  int64_t tokens = 0;
  for (const int64_t stream_length : lengths_) tokens += std::clamp<int64_t>(stream_length - begin, 0, length);
  return tokens;
}

std::vector<int64_t> window_lengths(int64_t total, int64_t bptt, double jitter, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> windows;
  std::mt19937_64 generator(seed * 1000003ULL + static_cast<uint64_t>(epoch));
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  for (int64_t covered = 0; covered < total;) {
    int64_t length = bptt;
    if (jitter > 0) {
      const double base = coin(generator) < 0.95 ? static_cast<double>(bptt) : bptt / 2.0;
      std::normal_distribution<double> noise(base, jitter);
      length = std::clamp<int64_t>(std::llround(noise(generator)), 2, 2 * bptt);
    }
    length = std::min(length, total - covered);
    windows.push_back(length);
    covered += length;
  }
  return windows;
}

}  // namespace nmt
