// bf16 products with fp32 results through oneDNN: the shim against exact sums, and precise::'s
// products outside autograd against fp32 products of the rounded operands, in every layout the
// fused layers hand them.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "model/precision.hpp"
#include "onednn_shim/bf16_matmul.hpp"
#include "onednn_shim/bf16_packed_matmul.hpp"
#include "runtime/bf16_bits.hpp"

using namespace nmt;

namespace {

torch::Tensor rounded(const torch::Tensor& t) { return t.to(torch::kBFloat16).to(torch::kFloat); }

// Sums of fp32 products of bf16 values differ from fp32 products of the same values only in the
// order of additions: within a few fp32 roundings of the result's scale. LibTorch's own bf16
// products (a build without oneDNN) round the result to bf16: within a part in 64.
void expect_fp32_sums(const torch::Tensor& actual, const torch::Tensor& expected) {
  ASSERT_EQ(actual.scalar_type(), torch::kFloat);
  ASSERT_EQ(actual.sizes(), expected.sizes());
  const double scale = expected.abs().max().item<double>();
  const double tolerance = onednn_bf16_available() ? scale * 1e-5 : scale / 64;
  EXPECT_LT((actual - expected).abs().max().item<double>(), tolerance) << "scale " << scale;
}

}  // namespace

TEST(Bf16Products, TheShimSumsTheProductsOfBf16ValuesInFp32) {
  if (!onednn_bf16_available())
    GTEST_SKIP() << "built without oneDNN, or oneDNN's bf16 products fail in this process: precise:: keeps "
                    "LibTorch's products (checked below)";
  // Values exact in bf16 and sums exact in fp32, so the results are known to the bit.
  std::mt19937 random(3);
  std::uniform_int_distribution<int> small(-8, 8);
  const int64_t rows = 5, inner = 7, columns = 4;
  std::vector<float> left(rows * inner), right(inner * columns), bias(columns);
  for (float& v : left) v = static_cast<float>(small(random)) / 4;
  for (float& v : right) v = static_cast<float>(small(random)) / 8;
  for (float& v : bias) v = static_cast<float>(small(random));
  std::vector<uint16_t> left16, right_columns16(inner * columns);  // right stored column by column
  for (const float v : left) left16.push_back(narrow_to_bf16(v));
  for (int64_t k = 0; k < inner; ++k)
    for (int64_t j = 0; j < columns; ++j) right_columns16[j * inner + k] = narrow_to_bf16(right[k * columns + j]);
  const Bf16Matrix a16{left16.data(), rows, inner, inner, 1}, b16{right_columns16.data(), inner, columns, 1, inner};
  std::vector<float> result(rows * 6, -1.0f);  // row stride 6: columns 4 and 5 stay untouched
  bf16_matmul(a16, b16, result.data(), 6, bias.data(), false, 1);
  std::vector<float> accumulated = result;
  bf16_matmul(a16, b16, accumulated.data(), 6, nullptr, true, 1);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < columns; ++j) {
      float sum = 0;
      for (int64_t k = 0; k < inner; ++k) sum += left[i * inner + k] * right[k * columns + j];
      EXPECT_EQ(result[i * 6 + j], sum + bias[j]) << i << "," << j;
      EXPECT_EQ(accumulated[i * 6 + j], 2 * sum + bias[j]) << i << "," << j;
    }
    EXPECT_EQ(result[i * 6 + 4], -1.0f);
    EXPECT_EQ(result[i * 6 + 5], -1.0f);
  }
  const Bf16Matrix short_b{right_columns16.data(), inner - 1, columns, 1, inner};
  EXPECT_THROW(bf16_matmul(a16, short_b, result.data(), 6, nullptr, false, 1), std::invalid_argument);
}

TEST(Bf16Products, OutsideAutogradTheyAreFp32SumsOfRoundedOperandsInEveryLayout) {
  torch::manual_seed(11);
  const torch::NoGradGuard no_grad;
  const PrecisionScope bf16(Precision::bf16);
  const auto a = torch::randn({37, 64}), b = torch::randn({64, 29}), bias = torch::randn({29});
  const auto a_columns = torch::randn({64, 37}).t(), b_columns = torch::randn({29, 64}).t();  // transposed views
  const auto expected = [](const torch::Tensor& x, const torch::Tensor& y) {
    return torch::mm(rounded(x), rounded(y));
  };
  expect_fp32_sums(precise::mm(a, b), expected(a, b));
  expect_fp32_sums(precise::mm(a_columns, b_columns), expected(a_columns, b_columns));
  expect_fp32_sums(precise::mm(a.to(torch::kBFloat16), b_columns.to(torch::kBFloat16)), expected(a, b_columns));
  expect_fp32_sums(precise::mm(a.narrow(0, 3, 1), b), expected(a.narrow(0, 3, 1), b));  // one row
  expect_fp32_sums(precise::mm(a, b.narrow(1, 2, 1)), expected(a, b.narrow(1, 2, 1)));  // one column
  expect_fp32_sums(precise::mm(a, b.expand({64, 29})), expected(a, b));
  expect_fp32_sums(precise::addmm(bias, a, b), bias + expected(a, b));
  // In place on the first rows of a larger state, as the recurrent layers' backward passes write.
  const auto state = torch::randn({50, 29});
  auto rows = state.clone().narrow(0, 0, 37);
  precise::mm_out(rows, a, b);
  expect_fp32_sums(rows, expected(a, b));
  auto sum = state.clone();
  auto sum_rows = sum.narrow(0, 0, 37);
  precise::add_mm_(sum_rows, a, b_columns);
  expect_fp32_sums(sum_rows, state.narrow(0, 0, 37) + expected(a, b_columns));
  EXPECT_TRUE(torch::equal(sum.narrow(0, 37, 13), state.narrow(0, 37, 13))) << "rows past the product changed";
  const auto carry = torch::randn({37, 29});
  auto out = torch::empty({37, 29});
  precise::addmm_out(out, carry, a, b);
  expect_fp32_sums(out, carry + expected(a, b));
  // The same call gives the same bits.
  EXPECT_TRUE(torch::equal(precise::mm(a_columns, b), precise::mm(a_columns, b)));
  // Past 128 rows the products take kernels whose sizes are given at run time.
  for (const int64_t tall : {129, 300}) {
    SCOPED_TRACE(std::to_string(tall) + " rows");
    const auto long_a = torch::randn({tall, 64}), long_a_columns = torch::randn({64, tall}).t();
    expect_fp32_sums(precise::mm(long_a, b), expected(long_a, b));
    expect_fp32_sums(precise::mm(long_a_columns, b_columns), expected(long_a_columns, b_columns));
    expect_fp32_sums(precise::addmm(bias, long_a, b_columns), bias + expected(long_a, b_columns));
    const auto long_state = torch::randn({tall + 5, 29});
    auto long_sum = long_state.clone();
    auto long_rows = long_sum.narrow(0, 0, tall);
    precise::add_mm_(long_rows, long_a_columns, b);
    expect_fp32_sums(long_rows, long_state.narrow(0, 0, tall) + expected(long_a_columns, b));
    EXPECT_TRUE(torch::equal(long_sum.narrow(0, tall, 5), long_state.narrow(0, tall, 5)));
    // A weight gradient's shape: the inner size is the row count.
    expect_fp32_sums(precise::mm(long_a.t(), long_a_columns), expected(long_a.t(), long_a_columns));
  }
}

TEST(Bf16Products, UnderAutogradTheyKeepLibTorchsProductsAndTheirGradients) {
  torch::manual_seed(12);
  const auto a = torch::randn({9, 16}, torch::requires_grad()), b = torch::randn({16, 5});
  const PrecisionScope bf16(Precision::bf16);
  const auto product = precise::mm(a, b);
  ASSERT_TRUE(product.requires_grad());
  // LibTorch's bf16 product: its result rounded to bf16.
  EXPECT_TRUE(torch::equal(product, rounded(product.detach())));
  const auto fp32 = torch::mm(rounded(a), rounded(b));
  EXPECT_LT((product - fp32).abs().max().item<double>(), fp32.abs().max().item<double>() / 64);
  product.sum().backward();
  EXPECT_EQ(a.grad().scalar_type(), torch::kFloat);
}

TEST(Bf16Products, APackedMatrixGivesTheExactSumsAndRefusesWhatItCannotMultiply) {
  if (!onednn_bf16_available()) GTEST_SKIP() << "built without oneDNN, or oneDNN's bf16 products fail here";
  // Values exact in bf16 and sums exact in fp32: the results are known to the bit.
  const int64_t rows = 6, inner = 5, columns = 3;
  std::vector<float> left(rows * inner), right(inner * columns);
  for (size_t i = 0; i < left.size(); ++i) left[i] = static_cast<float>(static_cast<int>(i % 7) - 3) / 2;
  for (size_t i = 0; i < right.size(); ++i) right[i] = static_cast<float>(static_cast<int>(i % 5) - 2) / 4;
  std::vector<uint16_t> left16, right_columns16(inner * columns);  // right stored column by column, as W^T
  for (const float v : left) left16.push_back(narrow_to_bf16(v));
  for (int64_t k = 0; k < inner; ++k)
    for (int64_t j = 0; j < columns; ++j) right_columns16[j * inner + k] = narrow_to_bf16(right[k * columns + j]);
  const Bf16PackedMatrix packed({right_columns16.data(), inner, columns, 1, inner}, 1);
  std::vector<float> result(rows * 4, -1.0f);  // row stride 4: column 3 stays untouched
  packed.multiply({left16.data(), rows, inner, inner, 1}, result.data(), 4, false);
  std::vector<float> accumulated = result;
  packed.multiply({left16.data(), rows, inner, inner, 1}, accumulated.data(), 4, true);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < columns; ++j) {
      float sum = 0;
      for (int64_t k = 0; k < inner; ++k) sum += left[i * inner + k] * right[k * columns + j];
      EXPECT_EQ(result[i * 4 + j], sum) << i << "," << j;
      EXPECT_EQ(accumulated[i * 4 + j], 2 * sum) << i << "," << j;
    }
    EXPECT_EQ(result[i * 4 + 3], -1.0f);
  }
  EXPECT_THROW(packed.multiply({left16.data(), rows, inner - 1, inner - 1, 1}, result.data(), 4, false),
               std::invalid_argument);  // inner sizes differ
  EXPECT_THROW(packed.multiply({left16.data(), 2, inner, 1, 2}, result.data(), 4, false),
               std::invalid_argument);  // a left operand stored column by column
}

TEST(Bf16Products, ARepeatedOperandsProductsAreFp32SumsOfRoundedOperandsAtEveryRowCount) {
  torch::manual_seed(13);
  const torch::NoGradGuard no_grad;
  const auto w_hh = torch::randn({96, 64});  // used as W_hh^T, a transposed view, as the recurrent layers do
  const auto expected = [&](const torch::Tensor& a) { return torch::mm(rounded(a), rounded(w_hh.t())); };
  {
    const PrecisionScope bf16(Precision::bf16);
    const precise::RepeatedOperand weights(w_hh.t(), 4);
    EXPECT_EQ(weights.packed(), onednn_bf16_available());
    EXPECT_FALSE(precise::RepeatedOperand(w_hh.t(), 1).packed()) << "packed for a single product";
    for (const int64_t count : {1, 7, 64, 129}) {
      SCOPED_TRACE(std::to_string(count) + " rows");
      const auto a = torch::randn({count, 64}).to(torch::kBFloat16);
      const auto state = torch::randn({count + 3, 96});  // the products write the first rows of a larger state
      auto written = state.clone(), summed = state.clone();
      auto written_rows = written.narrow(0, 0, count), summed_rows = summed.narrow(0, 0, count);
      weights.multiply(written_rows, a, false);
      weights.multiply(summed_rows, a, true);
      expect_fp32_sums(written_rows, expected(a));
      expect_fp32_sums(summed_rows, state.narrow(0, 0, count) + expected(a));
      EXPECT_TRUE(torch::equal(written.narrow(0, count, 3), state.narrow(0, count, 3))) << "rows past the product";
      EXPECT_TRUE(torch::equal(summed.narrow(0, count, 3), state.narrow(0, count, 3))) << "rows past the product";
      auto again = state.clone().narrow(0, 0, count);
      weights.multiply(again, a, false);
      EXPECT_TRUE(torch::equal(again, written_rows)) << "the same product gave other bits";
      const auto carry = torch::randn({count, 96});
      auto added = state.clone().narrow(0, 0, count);
      weights.add_product(added, carry, a);
      expect_fp32_sums(added, carry + expected(a));
    }
  }
  // In fp32 nothing is packed and the products are LibTorch's own, to the bit.
  const precise::RepeatedOperand weights(w_hh.t(), 4);
  EXPECT_FALSE(weights.packed());
  const auto a = torch::randn({7, 64});
  auto out = torch::empty({7, 96});
  weights.multiply(out, a, false);
  EXPECT_TRUE(torch::equal(out, torch::mm(a, w_hh.t())));
  const auto carry = torch::randn({7, 96});
  weights.add_product(out, carry, a);
  EXPECT_TRUE(torch::equal(out, torch::addmm(carry, a, w_hh.t())));
}
