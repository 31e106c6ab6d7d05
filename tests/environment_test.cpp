#include <gtest/gtest.h>

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
