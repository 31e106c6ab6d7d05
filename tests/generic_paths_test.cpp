// The device-generic LibTorch ops that CUDA takes, held to nmt's CPU kernels on the CPU: a whole
// training run, and the cross-entropy, dropout and Adam update one by one.
#include <gtest/gtest.h>

#include "data/special_tokens.hpp"
#include "model/dropout.hpp"
#include "model/cpu_fast_paths.hpp"
#include "scoring/cross_entropy.hpp"
#include "tiny_training.hpp"
#include "train/fused_adam.hpp"
#include "train/optimizer.hpp"

using namespace nmt;

namespace {

// Runs `body` with the CPU kernels off, and turns them on again even when it fails.
template <typename Body>
auto on_generic_paths(const Body& body) {
  struct Restore {
    ~Restore() { set_cpu_fast_paths_enabled(true); }
  } restore;
  set_cpu_fast_paths_enabled(false);
  return body();
}

double largest_relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max()).item<double>();
}

}  // namespace

// Fused GRU/LSTM layers (packed encoder, decoder), cross-entropy rows and FusedAdam with folded
// clipping against nn::GRU/LSTM, the tensor-op cross-entropy and torch's Adam, over 10 steps.
TEST(GenericPaths, TrainingMatchesTheCpuKernelsForGruAndLstm) {
  ASSERT_TRUE(cpu_fast_paths_enabled());
  for (const std::string cell : {"gru", "lstm"}) {
    SCOPED_TRACE(cell);
    const auto dir = test::scratch_dir(cell);
    Config fast = test::tiny_training_config(dir + "/fast");
    fast.model.cell = cell;
    fast.model.dropout = 0;  // the two dropouts draw different masks
    fast.training.max_steps = 10;
    fast.training.valid_every = 10;
    preprocess(fast, false);
    ASSERT_EQ(train(fast, {}), 0);
    Config generic = fast;
    generic.training.dir = dir + "/generic";
    ASSERT_EQ(on_generic_paths([&] { return train(generic, {}); }), 0);

    const auto fast_losses = test::train_losses(fast.training.dir);
    const auto generic_losses = test::train_losses(generic.training.dir);
    ASSERT_EQ(fast_losses.size(), 10u);
    ASSERT_EQ(generic_losses.size(), 10u);
    for (const auto& [step, loss] : fast_losses)
      EXPECT_NEAR(generic_losses.at(step), loss, 1e-4 * loss) << "step " << step;
    EXPECT_NE(generic_losses, fast_losses) << "the same bits: the switch did not take the generic ops";
    EXPECT_LT(fast_losses.at(10), fast_losses.at(1)) << "it learns";
  }
}

TEST(GenericPaths, CrossEntropyMatchesTheRowKernels) {
  torch::manual_seed(5);
  auto targets = torch::randint(0, 300, {64}, torch::kInt64);
  targets.slice(0, 0, 7).fill_(kPad);
  for (const double smoothing : {0.0, 0.1}) {
    SCOPED_TRACE("label smoothing " + std::to_string(smoothing));
    const auto logits = (torch::randn({64, 300}) * 4).requires_grad_();
    const auto run = [&] {
      logits.mutable_grad() = torch::Tensor();
      const auto loss = cross_entropy_sum(logits, targets, smoothing);
      (loss * 0.25).backward();
      return std::make_pair(loss.detach(), logits.grad().clone());
    };
    const auto [fast_loss, fast_grad] = run();
    const auto [generic_loss, generic_grad] = on_generic_paths(run);
    EXPECT_NEAR(generic_loss.item<double>(), fast_loss.item<double>(), 1e-5 * fast_loss.item<double>());
    EXPECT_LT(largest_relative_difference(generic_grad, fast_grad), 1e-5);
    EXPECT_EQ(generic_grad.slice(0, 0, 7).abs().sum().item<float>(), 0.0f) << "padding rows get no gradient";
  }
}

TEST(GenericPaths, DropoutDropsTheSameShareScalesTheSameAndPassesTheMaskBack) {
  torch::manual_seed(6);
  const auto input = (torch::rand({500, 400}) + 1).requires_grad_();
  for (const bool generic : {false, true}) {
    SCOPED_TRACE(generic ? "generic" : "philox");
    input.mutable_grad() = torch::Tensor();
    const auto output = generic ? on_generic_paths([&] { return philox_dropout(input, 0.3, true); })
                                : philox_dropout(input, 0.3, true);
    output.sum().backward();
    const auto kept = output.ne(0);
    EXPECT_NEAR(1.0 - kept.to(torch::kDouble).mean().item<double>(), 0.3, 0.005);
    EXPECT_TRUE(torch::allclose(output.index({kept}), input.index({kept}) / 0.7));
    EXPECT_TRUE(torch::allclose(input.grad(), kept.to(torch::kFloat) / 0.7)) << "the gradient is the scaled mask";
  }
}

TEST(GenericPaths, AdamWithFoldedClippingMatchesTheFusedUpdate) {
  const auto parameters = [] {
    torch::manual_seed(8);
    return std::vector<torch::Tensor>{torch::randn({200, 30}).requires_grad_(), torch::randn({77}).requires_grad_()};
  };
  auto fused = parameters(), generic = parameters();
  FusedAdam fast(fused, torch::optim::AdamOptions(0.01).weight_decay(0.01));
  FusedAdam fallback(generic, torch::optim::AdamOptions(0.01).weight_decay(0.01));
  for (int step = 0; step < 12; ++step) {
    const auto grads = parameters();
    for (size_t i = 0; i < fused.size(); ++i) {
      fused[i].mutable_grad() = grads[i].detach() * (step % 2 ? 0.01 : 5.0);  // below and above the clipping limit
      generic[i].mutable_grad() = grads[i].detach() * (step % 2 ? 0.01 : 5.0);
    }
    clip_gradient_norm(fast, fused, 1.0);
    fast.step();
    on_generic_paths([&] {
      clip_gradient_norm(fallback, generic, 1.0);
      return fallback.step();
    });
  }
  for (size_t i = 0; i < fused.size(); ++i) {
    EXPECT_LT((fused[i] - generic[i]).abs().max().item<double>(), 1e-5) << "parameter " << i;
    EXPECT_GT((fused[i] - parameters()[i]).abs().max().item<double>(), 0.05) << "the parameters moved";
  }
}
