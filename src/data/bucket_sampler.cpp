#include "data/bucket_sampler.hpp"

#include <algorithm>
#include <numeric>
#include <random>

namespace nmt {

namespace {
// Fisher-Yates with our own index draw, so orders are identical across standard libraries.
template <typename T>
void shuffle(std::vector<T>& items, std::mt19937_64& rng) {
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng() % i]);
}
}  // namespace

BucketSampler::BucketSampler(std::vector<int64_t> src_lengths, std::vector<int64_t> tgt_lengths,
                             BucketOptions options)
    : src_lengths_(std::move(src_lengths)), tgt_lengths_(std::move(tgt_lengths)), options_(options) {}

BucketSampler BucketSampler::for_corpus(const ParallelCorpus& corpus, BucketOptions options) {
  std::vector<int64_t> src(corpus.size()), tgt(corpus.size());
  for (size_t i = 0; i < corpus.size(); ++i) src[i] = corpus.src.length(i), tgt[i] = corpus.tgt.length(i);
  return BucketSampler(std::move(src), std::move(tgt), options);
}

std::vector<std::vector<int64_t>> BucketSampler::epoch_batches(int64_t epoch) const {
  std::mt19937_64 rng(options_.seed * 1000003ULL + static_cast<uint64_t>(epoch));
  std::vector<int64_t> order(src_lengths_.size());
  std::iota(order.begin(), order.end(), 0);
  shuffle(order, rng);
  const size_t pool = static_cast<size_t>(options_.batch_size * options_.pool_batches);
  std::vector<std::vector<int64_t>> batches;
  for (size_t begin = 0; begin < order.size(); begin += pool) {
    const auto end = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), begin + pool));
    std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(begin), end, [&](int64_t a, int64_t b) {
      return std::tie(src_lengths_[a], tgt_lengths_[a]) < std::tie(src_lengths_[b], tgt_lengths_[b]);
    });
    std::vector<int64_t> batch;
    int64_t longest = 0;
    for (auto it = order.begin() + static_cast<std::ptrdiff_t>(begin); it != end; ++it) {
      const int64_t length = std::max(src_lengths_[*it], tgt_lengths_[*it]);
      const bool full = static_cast<int64_t>(batch.size()) >= options_.batch_size ||
                        (options_.batch_tokens > 0 && !batch.empty() &&
                         std::max(longest, length) * static_cast<int64_t>(batch.size() + 1) > options_.batch_tokens);
      if (full) batches.push_back(std::move(batch)), batch.clear(), longest = 0;
      batch.push_back(*it);
      longest = std::max(longest, length);
    }
    if (!batch.empty()) batches.push_back(std::move(batch));
  }
  shuffle(batches, rng);
  return batches;
}

double BucketSampler::padding_fraction(const std::vector<std::vector<int64_t>>& batches) const {
  int64_t real = 0, padded = 0;
  for (const auto& batch : batches) {
    int64_t max_src = 0, max_tgt = 0;
    for (int64_t i : batch) {
      max_src = std::max(max_src, src_lengths_[i]);
      max_tgt = std::max(max_tgt, tgt_lengths_[i]);
      real += src_lengths_[i] + tgt_lengths_[i];
    }
    padded += (max_src + max_tgt) * static_cast<int64_t>(batch.size());
  }
  return padded ? 1.0 - static_cast<double>(real) / padded : 0.0;
}

}  // namespace nmt
