// The onednn-direct int8 engine's parts: activation rounding, and oneDNN's int32 sums against
// exact ones with the scales and bias applied as documented, for any row count, with VNNI or without.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "model/int8_weights.hpp"
#include "onednn_shim/int8_matmul.hpp"

using namespace nmt;

TEST(OnednnInt8, ActivationsRoundToNearestEvenClampAndScaleByTheirRow) {
  // Bounded rows: x * 127, ties to even, clamped to [-127, 127].
  const std::vector<float> bounded{-1.0f, 0.5f, -0.5f, 0.25f, -0.75f, 1.5f, -3.0f, 0.0f};
  std::vector<int8_t> q(bounded.size());
  quantize_rows(bounded.data(), 1, static_cast<int64_t>(bounded.size()), 127.0f, q.data(), nullptr);
  EXPECT_EQ(q, (std::vector<int8_t>{-127, 64, -64, 32, -95, 127, -127, 0}));
  // 7-bit activations (CPUs without VNNI) use 63 levels.
  quantize_rows(bounded.data(), 1, 2, 63.0f, q.data(), nullptr);
  EXPECT_EQ(q[0], -63);
  EXPECT_EQ(q[1], 32);  // 31.5: ties to even
  // Rows of any size: each divided by its largest magnitude first; an all-zero row stays zero.
  const std::vector<float> any{2.0f, -4.0f, 1.0f, 0.0f, 0.0f, 0.0f};
  std::vector<float> scales(2);
  quantize_rows(any.data(), 2, 3, 127.0f, q.data(), scales.data());
  EXPECT_EQ(scales[0], 4.0f);
  EXPECT_EQ(scales[1], std::numeric_limits<float>::min());
  EXPECT_EQ(std::vector<int8_t>(q.begin(), q.begin() + 6), (std::vector<int8_t>{64, -127, 32, 0, 0, 0}));
  // A NaN activation (a broken model) becomes 0 rather than an undefined conversion.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  quantize_rows(&nan, 1, 1, 127.0f, q.data(), nullptr);
  EXPECT_EQ(q[0], 0);
}

TEST(OnednnInt8, SumsAreExactAndEachRowIsIndependentOfItsBatch) {
  if (!onednn_int8_available()) {
    // Built without oneDNN, or its int8 products come back wrong in this process (Debian's oneDNN
    // under a LibTorch wheel on a CPU without VNNI): nmt leaves the engine out.
    const auto engines = int8_engines();
    EXPECT_EQ(std::find(engines.begin(), engines.end(), "onednn-direct"), engines.end());
    GTEST_SKIP() << "onednn-direct is unavailable here: built without oneDNN, or its int8 products fail in this process";
  }
  EXPECT_EQ(int8_engines().front(), "onednn-direct");
  // Without VNNI (a CPU without it, or ONEDNN_MAX_CPU_ISA=AVX2) weights keep 7 bits, and a weight
  // beyond them is refused rather than summed with 16-bit saturation.
  const int limit = onednn_int8_weight_limit();
  EXPECT_EQ(limit, onednn_runs_vnni() ? 127 : 63);
  if (limit < 127) {
    const std::vector<int8_t> beyond{1, static_cast<int8_t>(-limit - 1)};
    const float one = 1.0f;
    EXPECT_THROW(OnednnInt8Matmul(beyond.data(), &one, nullptr, 1, 2), std::invalid_argument);
  }
  std::mt19937 random(7);
  std::uniform_int_distribution<int> value(-127, 127), weight_value(-limit, limit);
  std::uniform_real_distribution<float> unit(0.001f, 0.01f);
  // Widths oneDNN blocks differently (16, 64, odd) and one long enough for large int32 sums.
  for (const auto& [out, in] : std::vector<std::pair<int64_t, int64_t>>{{48, 16}, {300, 512}, {37, 1000}}) {
    std::vector<int8_t> weight(static_cast<size_t>(out * in));
    for (auto& w : weight) w = static_cast<int8_t>(weight_value(random));
    std::vector<float> column_scales(static_cast<size_t>(out)), bias(static_cast<size_t>(out));
    for (int64_t j = 0; j < out; ++j) column_scales[j] = unit(random), bias[j] = unit(random) - 0.005f;
    const OnednnInt8Matmul product(weight.data(), column_scales.data(), bias.data(), out, in);
    const OnednnInt8Matmul no_bias(weight.data(), column_scales.data(), nullptr, out, in);
    constexpr int64_t kRows = 70;
    std::vector<int8_t> q(static_cast<size_t>(kRows * in));
    for (auto& v : q) v = static_cast<int8_t>(value(random));
    std::vector<float> row_scales(kRows);
    for (auto& s : row_scales) s = unit(random) * 100;
    std::vector<float> together(static_cast<size_t>(kRows * out)), plain(together.size());
    product.multiply(q.data(), kRows, row_scales.data(), together.data());
    no_bias.multiply(q.data(), kRows, nullptr, plain.data());
    for (int64_t r = 0; r < kRows; ++r) {
      for (int64_t j = 0; j < out; ++j) {
        int64_t sum = 0;
        for (int64_t k = 0; k < in; ++k) sum += int64_t{q[r * in + k]} * weight[j * in + k];
        const float scaled = static_cast<float>(sum) * column_scales[j];
        ASSERT_EQ(together[r * out + j], scaled * row_scales[r] + bias[j]) << out << "x" << in << " row " << r;
        ASSERT_EQ(plain[r * out + j], scaled) << out << "x" << in << " row " << r;
      }
    }
    // Alone or in a block of 5, a row gives the same bits (oneDNN picks other kernels for them).
    for (const int64_t rows : {1, 5}) {
      for (int64_t first = 0; first + rows <= kRows; first += 23) {
        std::vector<float> part(static_cast<size_t>(rows * out));
        product.multiply(q.data() + first * in, rows, row_scales.data() + first, part.data());
        for (int64_t i = 0; i < rows * out; ++i)
          ASSERT_EQ(part[i], together[first * out + i]) << out << "x" << in << " rows " << rows << " from " << first;
      }
    }
  }
}
