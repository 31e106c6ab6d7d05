#include <gtest/gtest.h>

#include <cmath>

#include "runtime/torch_compat.hpp"
#include "train/fused_adam.hpp"
#include "train/optimizer.hpp"

using namespace nmt;

namespace {
std::vector<torch::Tensor> make_parameters() {
  torch::manual_seed(7);
  return {torch::randn({300, 70}).requires_grad_(), torch::randn({1000}).requires_grad_(),
          torch::randn({5, 3}).requires_grad_()};
}
}  // namespace

TEST(FusedAdam, MatchesTorchAdam) {
  for (const double weight_decay : {0.0, 0.01}) {
    auto reference = make_parameters(), fused = make_parameters();
    torch::optim::Adam adam(reference, torch::optim::AdamOptions(0.01).weight_decay(weight_decay));
    FusedAdam fast(fused, torch::optim::AdamOptions(0.01).weight_decay(weight_decay));
    for (int step = 0; step < 25; ++step) {
      const auto grads = make_parameters();  // same "gradients" for both
      for (size_t i = 0; i < reference.size(); ++i) {
        reference[i].mutable_grad() = grads[i].detach() * (step + 1);
        fused[i].mutable_grad() = grads[i].detach() * (step + 1);
      }
      adam.step();
      fast.step();
    }
    for (size_t i = 0; i < reference.size(); ++i)
      EXPECT_TRUE(torch::allclose(reference[i], fused[i], 1e-5, 1e-5))  // rounding differs (FMA)
          << "parameter " << i << " wd " << weight_decay << " max diff " << (reference[i] - fused[i]).abs().max().item<float>()
          << " moved " << (reference[i] - make_parameters()[i]).abs().max().item<float>();
  }
}

// Clipping folded into FusedAdam's pass against clip_grad_norm_ then torch's Adam; SGD clips in place.
TEST(FusedAdam, FoldedClippingMatchesClipGradNormThenAdam) {
  auto reference = make_parameters(), fused = make_parameters(), plain = make_parameters();
  torch::optim::Adam adam(reference, torch::optim::AdamOptions(0.01));
  FusedAdam fast(fused, torch::optim::AdamOptions(0.01));
  torch::optim::SGD sgd(plain, torch::optim::SGDOptions(0.1));
  for (int step = 0; step < 10; ++step) {
    const auto grads = make_parameters();
    for (size_t i = 0; i < reference.size(); ++i)
      for (auto* parameters : {&reference, &fused, &plain})
        (*parameters)[i].mutable_grad() = grads[i].detach() * (step % 2 ? 0.001 : 3.0);  // below and above the limit
    torch::nn::utils::clip_grad_norm_(reference, 1.0);
    adam.step();
    clip_gradient_norm(fast, fused, 1.0);
    fast.step();
    clip_gradient_norm(sgd, plain, 1.0);
    double norm = 0;
    for (const auto& p : plain) norm += p.grad().pow(2).sum().item<double>();
    EXPECT_LE(std::sqrt(norm), 1.0 + 1e-4);
  }
  for (size_t i = 0; i < reference.size(); ++i)
    EXPECT_TRUE(torch::allclose(reference[i], fused[i], 1e-5, 1e-5))
        << "parameter " << i << " max diff " << (reference[i] - fused[i]).abs().max().item<float>();
}

TEST(FusedAdam, StateSavesAndLoadsAsTorchAdam) {
  auto parameters = make_parameters();
  FusedAdam fast(parameters, torch::optim::AdamOptions(0.01));
  for (auto& p : parameters) p.mutable_grad() = torch::ones_like(p);
  fast.step();
  std::stringstream buffer;
  torch::serialize::OutputArchive out;
  fast.save(out);
  out.save_to(buffer);
  auto copies = make_parameters();
  torch::optim::Adam plain(copies, torch::optim::AdamOptions(0.01));
  torch::serialize::InputArchive in;
  in.load_from(buffer);
  plain.load(in);
  const auto& state = static_cast<torch::optim::AdamParamState&>(
      *plain.state().at(optimizer_state_key(copies[0])));
  EXPECT_EQ(state.step(), 1);
  EXPECT_TRUE(torch::allclose(state.exp_avg(), torch::full_like(copies[0], 0.1)));
}

TEST(LrSchedule, WarmupInverseSqrtAndPlateau) {
  TrainingConfig config;
  config.lr = 1.0;
  config.lr_schedule = "inverse_sqrt";
  config.warmup_steps = 100;
  LrSchedule inverse(config);
  EXPECT_NEAR(inverse.lr_at(50), 0.5, 1e-12);
  EXPECT_NEAR(inverse.lr_at(100), 1.0, 1e-12);
  EXPECT_NEAR(inverse.lr_at(400), 0.5, 1e-12);
  config.lr_schedule = "plateau";
  config.warmup_steps = 0;
  config.lr_patience = 1;
  config.lr_decay = 0.5;
  LrSchedule plateau(config);
  EXPECT_FALSE(plateau.on_validation(3.0));
  EXPECT_FALSE(plateau.on_validation(3.5));  // first bad validation: within patience
  EXPECT_TRUE(plateau.on_validation(3.2));   // second: decay
  EXPECT_DOUBLE_EQ(plateau.lr_at(10), 0.5);
  LrSchedule restored(config);
  restored.restore(plateau.state());
  EXPECT_DOUBLE_EQ(restored.lr_at(10), 0.5);
}

namespace {
// A cosine schedule from lr 1 down to 0, so that expected values read as fractions of lr.
TrainingConfig cosine_from_one_to_zero() {
  TrainingConfig config;
  config.lr = 1.0;
  config.min_lr = 0.0;
  config.lr_schedule = "cosine";
  return config;
}
}  // namespace

TEST(LrSchedule, CosineWarmsUpThenAnnealsToMinLrAtMaxSteps) {
  TrainingConfig config = cosine_from_one_to_zero();
  config.warmup_steps = 10;
  config.max_steps = 110;
  LrSchedule cosine(config);
  EXPECT_NEAR(cosine.lr_at(5), 0.5, 1e-12);
  EXPECT_NEAR(cosine.lr_at(10), 1.0, 1e-12);
  EXPECT_NEAR(cosine.lr_at(60), 0.5, 1e-12);
  EXPECT_NEAR(cosine.lr_at(35), 0.5 * (1 + std::cos(M_PI / 4)), 1e-12);
  EXPECT_NEAR(cosine.lr_at(110), 0.0, 1e-12);
  EXPECT_NEAR(cosine.lr_at(150), 0.0, 1e-12);  // a resumed run past max_steps stays at min_lr
}

TEST(LrSchedule, CosineOverATimeBudgetFollowsTrainingSeconds) {
  TrainingConfig config = cosine_from_one_to_zero();
  config.max_minutes = 10;  // 600 s
  LrSchedule by_time(config);
  EXPECT_NEAR(by_time.lr_at(1, 0.0), 1.0, 1e-12);
  EXPECT_NEAR(by_time.lr_at(1000, 300.0), 0.5, 1e-12);  // the step count does not matter
  EXPECT_NEAR(by_time.lr_at(2, 150.0), 0.5 * (1 + std::cos(M_PI / 4)), 1e-12);
  EXPECT_NEAR(by_time.lr_at(5, 900.0), 0.0, 1e-12);  // past the budget it stays at min_lr
  // With both limits, the one nearer its end sets the pace, as it is the one that stops the run.
  config.max_steps = 100;
  LrSchedule both(config);
  EXPECT_NEAR(both.lr_at(50, 60.0), 0.5, 1e-12);
  EXPECT_NEAR(both.lr_at(10, 300.0), 0.5, 1e-12);
}

TEST(LrSchedule, CosineFromAFractionOfTheRunHoldsLrUntilThenAnnealsToMinLr) {
  TrainingConfig config = cosine_from_one_to_zero();
  config.anneal_from = 0.6;
  config.max_minutes = 10;  // 600 s: lr holds for 360 s, then anneals over the last 240 s
  LrSchedule by_time(config);
  EXPECT_NEAR(by_time.lr_at(1, 0.0), 1.0, 1e-12);
  EXPECT_NEAR(by_time.lr_at(900, 359.0), 1.0, 1e-12);
  EXPECT_NEAR(by_time.lr_at(1000, 480.0), 0.5, 1e-12);
  EXPECT_NEAR(by_time.lr_at(1100, 540.0), 0.5 * (1 + std::cos(M_PI * 0.75)), 1e-12);
  EXPECT_NEAR(by_time.lr_at(1200, 600.0), 0.0, 1e-12);
  config.max_minutes = 0;
  config.max_steps = 110;
  config.warmup_steps = 10;  // the fraction counts the run after warm-up: annealing starts at step 70
  LrSchedule by_steps(config);
  EXPECT_NEAR(by_steps.lr_at(5), 0.5, 1e-12);
  EXPECT_NEAR(by_steps.lr_at(70), 1.0, 1e-12);
  EXPECT_NEAR(by_steps.lr_at(90), 0.5, 1e-12);
  EXPECT_NEAR(by_steps.lr_at(110), 0.0, 1e-12);
}
