// The fused cross-entropy against torch's: the same sum and gradient, PAD ignored, with and without
// label smoothing, on the CPU row kernels (float) and the tensor-op version (double).
#include <gtest/gtest.h>

#include "data/special_tokens.hpp"
#include "scoring/cross_entropy.hpp"

using namespace nmt;

TEST(CrossEntropy, MatchesTorchCrossEntropyAndItsGradient) {
  namespace F = torch::nn::functional;
  torch::manual_seed(2);
  auto targets = torch::randint(0, 50, {40}, torch::kInt64);
  targets.slice(0, 0, 5).fill_(kPad);  // ignored rows
  for (const auto type : {torch::kFloat, torch::kDouble}) {
    for (const double smoothing : {0.0, 0.1}) {
      SCOPED_TRACE(std::string(c10::toString(type)) + ", label smoothing " + std::to_string(smoothing));
      const auto logits = (torch::randn({40, 50}, type) * 3).requires_grad_();
      const auto ours = cross_entropy_sum(logits, targets, smoothing);
      (ours * 0.5).backward();
      const auto our_grad = logits.grad().clone();
      logits.mutable_grad() = torch::Tensor();
      const auto theirs = F::cross_entropy(
          logits, targets,
          F::CrossEntropyFuncOptions().ignore_index(kPad).reduction(torch::kSum).label_smoothing(smoothing));
      (theirs * 0.5).backward();
      EXPECT_NEAR(ours.item<double>(), theirs.item<double>(), 1e-4 * std::abs(theirs.item<double>()));
      EXPECT_TRUE(torch::allclose(our_grad, logits.grad(), 1e-5, 1e-6))
          << (our_grad - logits.grad()).abs().max().item<float>();
      EXPECT_EQ(our_grad.slice(0, 0, 5).abs().sum().item<float>(), 0.0f);
    }
  }
}

TEST(CrossEntropy, SameBitsOnOneThreadAndTwo) {
  torch::manual_seed(3);
  const auto targets = torch::randint(0, 700, {300}, torch::kInt64);
  const auto logits = (torch::randn({300, 700}) * 4).requires_grad_();
  auto run = [&](int threads) {
    torch::set_num_threads(threads);
    logits.mutable_grad() = torch::Tensor();
    const auto loss = cross_entropy_sum(logits, targets, 0.1);
    (loss / 7).backward();
    return std::make_pair(loss.detach(), logits.grad().clone());
  };
  const int threads = torch::get_num_threads();
  const auto [loss1, grad1] = run(1);
  const auto [loss2, grad2] = run(2);
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(loss1, loss2));
  EXPECT_TRUE(torch::equal(grad1, grad2));
}

TEST(CrossEntropy, RefusesATargetOutsideTheVocabulary) {
  const auto logits = torch::zeros({2, 5});
  EXPECT_THROW(cross_entropy_sum(logits, torch::tensor({1, 5}, torch::kInt64)), c10::Error);
  EXPECT_THROW(cross_entropy_sum(logits, torch::tensor({-1, 2}, torch::kInt64)), c10::Error);
}

TEST(CrossEntropy, StaysFiniteOnExtremeLogits) {
  const auto logits = torch::tensor({{1000.0f, -1000.0f, 0.0f}, {-1000.0f, 1000.0f, 0.0f}}).requires_grad_();
  const auto loss = cross_entropy_sum(logits, torch::tensor({1, 1}, torch::kInt64), 0.1);
  loss.backward();
  EXPECT_TRUE(std::isfinite(loss.item<double>()));
  // Row 1: -log p[1] = 2000, mean -log p = 1000; row 2: 0 and 1000.
  EXPECT_NEAR(loss.item<double>(), 0.9 * 2000 + 0.1 * (1000 + 1000), 1e-2);
  EXPECT_TRUE(logits.grad().isfinite().all().item<bool>());
}
