#include <gtest/gtest.h>

#include <limits>

#include "train/gradient_sync.hpp"

using namespace nmt;

TEST(GradientSync, RowsInUseAreTheRowsWithANonzeroEntry) {
  // 200 columns: the scan goes in blocks of 64 (0-63, 64-127, 128-191, 192-199).
  auto table = torch::zeros({12, 200});
  const std::vector<std::pair<int64_t, float>> entries = {
      {0, 0.5f}, {1, -3.0f}, {63, 1e-30f}, {64, 2.0f}, {65, -1e-38f}, {128, 7.0f}, {199, 1.0f},
      {100, std::numeric_limits<float>::quiet_NaN()}, {150, std::numeric_limits<float>::infinity()}};
  for (size_t row = 0; row < entries.size(); ++row)
    table[static_cast<int64_t>(row)][entries[row].first] = entries[row].second;
  table[9][5] = -0.0f;  // zero
  // rows 10 and 11 stay zero
  auto flags = torch::full({12}, -1.0f);
  flag_rows_in_use(table, flags);
  EXPECT_TRUE(torch::equal(flags, table.ne(0).any(1).to(torch::kFloat))) << flags;
  EXPECT_EQ(flags.sum().item<float>(), 9.0f);

  // Empty rows, and a table whose rows are all in use.
  auto empty = torch::zeros({3, 0}), none = torch::full({3}, -1.0f);
  flag_rows_in_use(empty, none);
  EXPECT_TRUE(torch::equal(none, torch::zeros({3})));
  auto dense = torch::randn({50, 37}), all = torch::zeros({50});
  flag_rows_in_use(dense, all);
  EXPECT_TRUE(torch::equal(all, torch::ones({50})));
}
