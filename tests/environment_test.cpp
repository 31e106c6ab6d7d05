#include <gtest/gtest.h>
#include <malloc.h>

#include <torch/torch.h>

#include "runtime/environment.hpp"

using namespace nmt;

// Whatever BLAS and kernel the process runs on (including a core forced by the start-up fix),
// float matrix products must agree with a double-precision computation.
TEST(Blas, FloatProductMatchesDoublePrecision) {
  torch::manual_seed(3);
  for (const int64_t n : {7, 64, 257, 512}) {
    const auto a = torch::randn({n, n + 3}), b = torch::randn({n + 3, n - 1});
    const auto fast = torch::mm(a, b);
    const auto exact = torch::mm(a.to(torch::kDouble), b.to(torch::kDouble));
    const double error = (fast.to(torch::kDouble) - exact).abs().max().item<double>();
    EXPECT_LT(error, 1e-4 * std::sqrt(static_cast<double>(n))) << "n = " << n;
  }
}

TEST(Blas, DetectionReportsTheLibraryInUse) {
  const BlasInfo info = detect_blas();
  EXPECT_FALSE(info.library.empty());
  if (info.library == "OpenBLAS") {
    EXPECT_FALSE(info.core.empty());
    EXPECT_NE(startup_line().find("core " + info.core), std::string::npos);
  }
  EXPECT_NE(startup_line().find("threads"), std::string::npos);
}

// After the start-up setting, a block of a few MiB (a typical activation) comes from the heap and
// stays there when freed, instead of being mapped and unmapped each time.
TEST(Allocator, FreedActivationSizedBlocksStayInTheHeap) {
  ASSERT_NE(memory_allocator(), "tcmalloc") << "the test binary is not linked with tcmalloc";
  if (!keep_freed_memory_in_heap())
    GTEST_SKIP() << "the allocator is " << memory_allocator() << ", or GLIBC_TUNABLES sets malloc options";
  const size_t mapped_before = mallinfo2().hblks;
  auto activation = torch::ones({1024, 2048});  // 8 MiB
  EXPECT_EQ(mallinfo2().hblks, mapped_before) << "an 8 MiB tensor was mapped on its own";
  const size_t heap_in_use = mallinfo2().arena;
  activation = torch::Tensor();
  EXPECT_GE(mallinfo2().arena, heap_in_use) << "freeing it shrank the heap";
}
