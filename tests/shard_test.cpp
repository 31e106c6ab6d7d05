#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "distributed/shard.hpp"

using namespace nmt;

namespace {
int64_t cost_of(const std::vector<int64_t>& costs, std::pair<size_t, size_t> range) {
  return std::accumulate(costs.begin() + static_cast<std::ptrdiff_t>(range.first),
                         costs.begin() + static_cast<std::ptrdiff_t>(range.second), int64_t{0});
}
}  // namespace

TEST(Shard, PartsAreContiguousAndCoverEveryExampleOnce) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<int64_t> costs(rng() % 70);
    for (auto& cost : costs) cost = 1 + rng() % 60;
    std::sort(costs.begin(), costs.end());  // batches are length-sorted
    const int parts = 1 + static_cast<int>(rng() % 9);
    size_t next = 0;
    for (int part = 0; part < parts; ++part) {
      const auto range = shard_range(costs, part, parts);
      EXPECT_EQ(range.first, next) << "trial " << trial << " part " << part;
      EXPECT_LE(range.first, range.second);
      EXPECT_EQ(range, shard_range(costs, part, parts));  // deterministic
      next = range.second;
    }
    EXPECT_EQ(next, costs.size());
  }
}

TEST(Shard, PartsAreBalancedInTokensToWithinOneExample) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<int64_t> costs(20 + rng() % 100);
    for (auto& cost : costs) cost = 2 + rng() % 80;
    std::sort(costs.begin(), costs.end());
    const int parts = 2 + static_cast<int>(rng() % 4);
    const int64_t total = std::accumulate(costs.begin(), costs.end(), int64_t{0});
    const int64_t largest = costs.back();
    for (int part = 0; part < parts; ++part) {
      const int64_t cost = cost_of(costs, shard_range(costs, part, parts));
      EXPECT_LE(std::abs(cost * parts - total), largest * parts) << "trial " << trial << " part " << part;
    }
  }
  // Short sentences first: the first part holds more of them for the same tokens.
  const std::vector<int64_t> costs = {1, 1, 1, 1, 1, 1, 2, 4};
  EXPECT_EQ(shard_range(costs, 0, 2), (std::pair<size_t, size_t>{0, 6}));
  EXPECT_EQ(shard_range(costs, 1, 2), (std::pair<size_t, size_t>{6, 8}));
}

TEST(Shard, FewerExamplesThanPartsLeaveSomePartsEmpty) {
  const std::vector<int64_t> costs = {5, 9};
  int non_empty = 0;
  for (int part = 0; part < 4; ++part) {
    const auto range = shard_range(costs, part, 4);
    EXPECT_LE(range.second - range.first, 1u);
    non_empty += range.second > range.first;
  }
  EXPECT_EQ(non_empty, 2);
  EXPECT_EQ(shard_range({}, 0, 3), (std::pair<size_t, size_t>{0, 0}));
  EXPECT_EQ(shard_range({}, 2, 3), (std::pair<size_t, size_t>{0, 0}));
  // Costs of zero are split by count.
  EXPECT_EQ(shard_range({0, 0, 0, 0}, 1, 2), (std::pair<size_t, size_t>{2, 4}));
  EXPECT_EQ(shard_range({7}, 0, 1), (std::pair<size_t, size_t>{0, 1}));
  EXPECT_THROW(shard_range({1}, 2, 2), std::invalid_argument);
}
