#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "data/bucket_sampler.hpp"

using namespace nmt;

namespace {
// `longest_out` receives max(source, target) length per pair.
BucketSampler make_sampler(size_t n, BucketOptions options, std::vector<int64_t>* longest_out = nullptr) {
  std::mt19937 rng(4);
  std::vector<int64_t> src(n), tgt(n);
  // Target lengths follow source lengths loosely, as in real parallel text.
  for (size_t i = 0; i < n; ++i) src[i] = 1 + rng() % 40, tgt[i] = 2 + src[i] + rng() % 7 - 3;
  if (longest_out)
    for (size_t i = 0; i < n; ++i) longest_out->push_back(std::max(src[i], tgt[i]));
  return BucketSampler(src, tgt, options);
}
}  // namespace

TEST(BucketSampler, EveryPairExactlyOncePerEpoch) {
  BucketOptions options;
  options.batch_size = 32;
  const auto sampler = make_sampler(5000, options);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<int64_t> seen;
    for (const auto& batch : sampler.epoch_batches(epoch)) {
      EXPECT_LE(batch.size(), 32u);
      EXPECT_FALSE(batch.empty());
      seen.insert(seen.end(), batch.begin(), batch.end());
    }
    std::sort(seen.begin(), seen.end());
    ASSERT_EQ(seen.size(), 5000u);
    for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], static_cast<int64_t>(i));
  }
}

TEST(BucketSampler, DeterministicPerSeedAndEpoch) {
  BucketOptions options;
  options.batch_size = 16;
  const auto a = make_sampler(1000, options), b = make_sampler(1000, options);
  EXPECT_EQ(a.epoch_batches(2), b.epoch_batches(2));
  EXPECT_NE(a.epoch_batches(2), a.epoch_batches(3));
  options.seed = 99;
  EXPECT_NE(make_sampler(1000, options).epoch_batches(2), a.epoch_batches(2));
}

TEST(BucketSampler, TokenLimitAndLowPadding) {
  BucketOptions options;
  options.batch_size = 1000;
  options.batch_tokens = 400;
  std::vector<int64_t> lengths;
  const auto sampler = make_sampler(4000, options, &lengths);
  size_t covered = 0;
  for (const auto& batch : sampler.epoch_batches(0)) {
    int64_t longest = 0;
    for (int64_t i : batch) longest = std::max(longest, lengths[static_cast<size_t>(i)]);
    EXPECT_LE(longest * static_cast<int64_t>(batch.size()), 400);
    covered += batch.size();
  }
  EXPECT_EQ(covered, 4000u);
  BucketOptions by_count;
  by_count.batch_size = 64;
  const auto bucketed = make_sampler(20000, by_count);
  EXPECT_LT(bucketed.padding_fraction(bucketed.epoch_batches(0)), 0.10);
}
