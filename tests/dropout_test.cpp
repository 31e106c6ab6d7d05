// The parallel dropout: torch::dropout's semantics, a mask that depends on the generator's state
// and not on the number of threads, and the mask as the gradient.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/PhiloxRNGEngine.h>

#include "model/dropout.hpp"

using namespace nmt;

TEST(Dropout, DropsTheRightShareAndScalesTheRest) {
  torch::manual_seed(4);
  const auto input = torch::rand({1000, 1000}) + 1;
  const auto output = philox_dropout(input, 0.2, true);
  const auto dropped = output.eq(0);
  EXPECT_NEAR(dropped.to(torch::kDouble).mean().item<double>(), 0.2, 0.002);
  const auto kept = dropped.logical_not();
  EXPECT_TRUE(torch::allclose(output.index({kept}), input.index({kept}) / 0.8));
  EXPECT_TRUE(philox_dropout(input, 0.2, false).is_same(input));
  EXPECT_TRUE(philox_dropout(input, 0.0, true).is_same(input));
  EXPECT_EQ(philox_dropout(input, 1.0, true).abs().sum().item<float>(), 0.0f);
}

// The mask is ATen's Philox engine drawn in order within each chunk of 4,096 elements (the fast
// path computes the engine's blocks side by side); a last chunk cut mid-block included.
TEST(Dropout, MaskIsAtensPhiloxStreamPerChunk) {
  const int64_t count = 3 * 4096 + 4099;
  const double p = 0.35;
  torch::manual_seed(5);
  uint64_t seed = 0;
  {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    seed = generator.get<at::CPUGeneratorImpl>()->random64();
  }
  torch::manual_seed(5);
  const auto mask = philox_dropout(torch::ones({count}), p, true);
  const auto threshold = static_cast<uint64_t>((1.0 - p) * 4294967296.0);
  const auto scale = static_cast<float>(1.0 / (1.0 - p));
  const float* values = mask.data_ptr<float>();
  int64_t differ = 0;
  for (int64_t chunk = 0; chunk * 4096 < count; ++chunk) {
    at::Philox4_32 engine(seed, static_cast<uint64_t>(chunk));
    for (int64_t i = chunk * 4096; i < std::min(count, (chunk + 1) * 4096); ++i)
      differ += values[i] != (engine() < threshold ? scale : 0.0f);
  }
  EXPECT_EQ(differ, 0);
}

TEST(Dropout, MaskFollowsTheGeneratorNotTheThreads) {
  const auto input = torch::ones({3, 50000});
  const int threads = torch::get_num_threads();
  torch::manual_seed(9);
  torch::set_num_threads(1);
  const auto one_thread = philox_dropout(input, 0.3, true);
  const auto next = philox_dropout(input, 0.3, true);
  torch::manual_seed(9);
  torch::set_num_threads(2);
  const auto two_threads = philox_dropout(input, 0.3, true);
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one_thread, two_threads));
  EXPECT_FALSE(torch::equal(one_thread, next));  // the generator moved on
}

TEST(Dropout, GradientIsTheMask) {
  torch::manual_seed(1);
  const auto input = torch::randn({64, 300}, torch::requires_grad());
  const auto output = philox_dropout(input, 0.5, true);
  output.sum().backward();
  EXPECT_TRUE(torch::allclose(input.grad(), output.detach() / input.detach()));
}
