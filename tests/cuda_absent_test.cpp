// On a machine without a GPU, a CUDA build of nmt (PyPI's LibTorch) and a CPU-only one both run
// on the CPU, and asking for CUDA is a clear error that says which of the two this build is.
#include <gtest/gtest.h>

#include "runtime/torch_compat.hpp"
#include "tiny_training.hpp"

using namespace nmt;

TEST(CudaAbsent, InfoAndTrainingOnCudaSayWhyThereIsNoCuda) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU is visible: scripts/gpu_check.sh covers this machine";
  const std::string why = torch_has_cuda() ? "not available (this LibTorch has CUDA, but no GPU is visible)"
                                           : "not available (this LibTorch is CPU-only; build against a CUDA LibTorch)";
  std::string info;
  ASSERT_EQ(test::run_command(std::string(NMT_BINARY) + " info", &info), 0);
  EXPECT_NE(info.find("CUDA:           " + why), std::string::npos) << info;

  const auto dir = test::scratch_dir("cuda");
  Config config = test::tiny_training_config(dir);
  preprocess(config, false);
  write_text_atomically(dir + "/config.yaml", dump_config(config));
  std::string output;
  EXPECT_EQ(test::run_command(std::string(NMT_BINARY) + " train --config " + dir +
                                  "/config.yaml --set training.device=cuda 2>&1",
                              &output),
            1);
  EXPECT_NE(output.find("nmt: error: training.device is 'cuda', but CUDA is " + why), std::string::npos) << output;
  // `auto` takes the CPU.
  EXPECT_EQ(test::run_command(std::string(NMT_BINARY) + " train --config " + dir +
                                  "/config.yaml --set training.device=auto --set training.max_steps=2 2>&1",
                              &output),
            0)
      << output;
  EXPECT_NE(output.find("device cpu"), std::string::npos) << output;
}
