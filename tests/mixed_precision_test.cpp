// fp16 and loss scaling: the fp16 setting's checks, autocast's scope, and dynamic loss scaling
// through the _amp_* ops (on the CPU from LibTorch 2.3; CUDA has them on every line).
#include <gtest/gtest.h>

#include <cmath>

#include "bundle/checkpoint.hpp"
#include "bundle/model_dir.hpp"
#include "model/precision.hpp"
#include "runtime/torch_compat.hpp"
#include "tiny_training.hpp"
#include "train/loss_scaler.hpp"

using namespace nmt;

namespace {

void expect_error_naming(const std::function<void()>& body, const std::vector<std::string>& phrases) {
  try {
    body();
    ADD_FAILURE() << "no error";
  } catch (const std::exception& e) {
    for (const auto& phrase : phrases) EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
  }
}

TrainingConfig dynamic_scaling(double init, int64_t interval) {
  TrainingConfig config;
  config.loss_scaling = "dynamic";
  config.loss_scale_init = init;
  config.loss_scale_growth_interval = interval;
  return config;
}

}  // namespace

TEST(Fp16, IsRefusedOnTheCpuNamingTheKeyAndAcceptedForCuda) {
  EXPECT_EQ(precision_from_name("fp16"), Precision::fp16);
  EXPECT_EQ(product_type(Precision::fp16), torch::kHalf);
  EXPECT_EQ(resolve_precision("fp16", torch::Device(torch::kCUDA), "training.precision"), Precision::fp16);
  EXPECT_EQ(resolve_precision("auto", torch::Device(torch::kCUDA), "training.precision"), Precision::fp32);
  expect_error_naming([] { resolve_precision("fp16", torch::kCPU, "decoding.precision"); },
                      {"decoding.precision fp16 runs on CUDA only", "use bf16"});
  // Training on the CPU stops before it starts, with the same message.
  const auto dir = test::scratch_dir("train");
  Config config = test::tiny_training_config(dir);
  config.training.precision = "fp16";
  config.training.device = "cpu";
  expect_error_naming([&] { train(config, {}); }, {"training.precision fp16 runs on CUDA only"});
  expect_error_naming([] { parse_config("training:\n  loss_scaling: off\n  precision: fp16\n", "p.yaml"); },
                      {"p.yaml", "training.loss_scaling"});
  expect_error_naming([] { parse_config("training:\n  loss_scale_init: 1000\n", "p.yaml"); },
                      {"training.loss_scale_init", "power of two"});
}

TEST(AutocastScope, TurnsAutocastOnForItsLifetimeAndRestoresIt) {
  const auto a = torch::randn({4, 8}), b = torch::randn({8, 3});
  ASSERT_FALSE(AutocastScope::enabled(torch::kCPU));
  const auto type_before = AutocastScope::type_of(torch::kCPU);
  {
    const AutocastScope scope(torch::kCPU, torch::kBFloat16);
    EXPECT_TRUE(AutocastScope::enabled(torch::kCPU));
    EXPECT_FALSE(AutocastScope::enabled(torch::kCUDA));
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
  }
  EXPECT_FALSE(AutocastScope::enabled(torch::kCPU));
  EXPECT_EQ(AutocastScope::type_of(torch::kCPU), type_before);
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat);
}

TEST(LossScaling, OverflowSkipsTheStepAndHalvesTheScaleAndFiniteStepsGrowIt) {
  if (!amp_ops_on_cpu()) {
    expect_error_naming([] { LossScaler(dynamic_scaling(1024, 3), Precision::fp32, torch::kCPU); },
                        {"training.loss_scaling", "LibTorch 2.3", TORCH_VERSION});
    GTEST_SKIP() << "LibTorch " TORCH_VERSION " has no CPU kernels for the _amp_* ops; the refusal is checked";
  }
  LossScaler scaler(dynamic_scaling(1024, 3), Precision::fp32, torch::kCPU);
  ASSERT_TRUE(scaler.enabled());
  EXPECT_EQ(scaler.factor(), 1024);
  auto p = torch::zeros({3}, torch::requires_grad());
  p.mutable_grad() = torch::tensor({1024.0f, -2048.0f, 512.0f});
  EXPECT_TRUE(scaler.unscale({p}));
  EXPECT_TRUE(torch::equal(p.grad(), torch::tensor({1.0f, -2.0f, 0.5f}))) << p.grad();
  scaler.update();
  EXPECT_EQ(scaler.factor(), 1024) << "one finite step of three";

  p.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity(), 0.0f});
  EXPECT_FALSE(scaler.unscale({p}));
  scaler.update();
  EXPECT_EQ(scaler.factor(), 512);
  EXPECT_EQ(scaler.skipped_steps(), 1);
  p.mutable_grad() = torch::tensor({NAN, 0.0f, 0.0f});
  EXPECT_FALSE(scaler.unscale({p}));
  scaler.update();
  EXPECT_EQ(scaler.factor(), 256);
  for (int step = 0; step < 3; ++step) {
    p.mutable_grad() = torch::ones({3});
    EXPECT_TRUE(scaler.unscale({p}));
    scaler.update();
  }
  EXPECT_EQ(scaler.factor(), 512) << "three finite steps in a row double it";

  // The state carries the factor and the run of finite steps.
  LossScaler restored(dynamic_scaling(65536, 3), Precision::fp32, torch::kCPU);
  restored.restore(scaler.state());
  EXPECT_EQ(restored.factor(), 512);
  EXPECT_EQ(restored.skipped_steps(), 2);
  // Off: factor 1, gradients untouched.
  LossScaler off(TrainingConfig{}, Precision::fp32, torch::kCPU);
  EXPECT_FALSE(off.enabled());
  EXPECT_EQ(off.factor(), 1);
}

// With a power-of-two scale nothing rounds differently, so an fp32 run with loss scaling is the
// same run bit for bit; growth every 4 steps takes the scale from 2^10 to 2^13 over 12 steps,
// and a resumed run carries it on.
TEST(LossScaling, InFp32TrainsBitIdenticallyAndResumesWithTheScale) {
  if (!amp_ops_on_cpu()) GTEST_SKIP() << "LibTorch " TORCH_VERSION " has no CPU kernels for the _amp_* ops";
  const auto dir = test::scratch_dir("runs");
  Config plain = test::tiny_training_config(dir + "/plain");
  preprocess(plain, false);
  ASSERT_EQ(train(plain, {}), 0);
  const auto scaled_run = [&](const std::string& name) {
    Config config = plain;
    config.training.dir = dir + "/" + name;
    config.training.loss_scaling = "dynamic";
    config.training.loss_scale_init = 1024;
    config.training.loss_scale_growth_interval = 4;
    return config;
  };
  Config scaled = scaled_run("scaled");
  ASSERT_EQ(train(scaled, {}), 0);
  const auto losses = test::train_losses(plain.training.dir);
  ASSERT_EQ(losses.size(), 12u);
  EXPECT_EQ(test::train_losses(scaled.training.dir), losses);
  const auto meta = read_checkpoint_meta(checkpoint_file(scaled.training.dir, 12));
  EXPECT_EQ(meta.at("loss_scale").at("scale").get<double>(), 8192.0) << meta.dump();
  EXPECT_EQ(meta.at("loss_scale").at("skipped_steps").get<int64_t>(), 0);

  const Config resumed = scaled_run("resumed");
  test::train_then_resume(resumed, 6);
  EXPECT_EQ(test::train_losses(resumed.training.dir), losses);
  EXPECT_EQ(read_checkpoint_meta(checkpoint_file(resumed.training.dir, 12)).at("loss_scale"), meta.at("loss_scale"));
}
