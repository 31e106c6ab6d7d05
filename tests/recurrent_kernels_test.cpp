// The bf16 step kernels against the float ones fed the same bf16 product: the same activations,
// states and gradients within float rounding, and bf16 copies that are those values rounded.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/precision.hpp"
#include "model/recurrent_kernels.hpp"

using namespace nmt;

namespace {

constexpr int64_t kRows = 5, kHidden = 24;

void expect_same(const torch::Tensor& bf16_side, const torch::Tensor& float_side, const char* what) {
  EXPECT_TRUE(torch::allclose(bf16_side, float_side, 1e-5, 1e-6))
      << what << ": max difference " << (bf16_side - float_side).abs().max().item<float>();
}

// A bf16 copy written by a kernel is its float value rounded to nearest even, as LibTorch rounds.
void expect_rounded_copy(const torch::Tensor& copy, const torch::Tensor& value, const char* what) {
  EXPECT_TRUE(torch::equal(copy, value.to(torch::kBFloat16))) << what;
}

}  // namespace

TEST(RecurrentKernels, Bf16GruStepsEqualFloatStepsOnTheSameProduct) {
  torch::manual_seed(7);
  const auto product = torch::randn({kRows, 3 * kHidden}).to(torch::kBFloat16);  // W_hh h, no bias
  const auto bias = torch::randn({3 * kHidden});
  const auto input_gates = torch::randn({kRows, 3 * kHidden}), state = torch::randn({kRows, kHidden});
  auto gates32 = input_gates.clone(), gates16 = input_gates.clone();
  auto h32 = state.clone(), h16_float = state.clone();
  auto h16 = torch::empty({kRows, kHidden}, torch::kBFloat16);
  const auto recurrent = product.to(torch::kFloat) + bias;
  auto prev32 = torch::empty_like(state), prev16 = torch::empty_like(state), new32 = torch::empty_like(state),
       new16 = torch::empty_like(state), out32 = torch::empty_like(state), out16 = torch::empty_like(state);
  gru_step_forward(0, kRows, kHidden, gates32.data_ptr<float>(), recurrent.data_ptr<float>(), h32.data_ptr<float>(),
                   prev32.data_ptr<float>(), new32.data_ptr<float>(), out32.data_ptr<float>());
  const Bf16StepForward bf16{bf16_data(product), bias.data_ptr<float>(), bf16_data(h16)};
  gru_step_forward_bf16(0, kRows, kHidden, gates16.data_ptr<float>(), bf16, h16_float.data_ptr<float>(),
                        prev16.data_ptr<float>(), new16.data_ptr<float>(), out16.data_ptr<float>());
  expect_same(gates16, gates32, "activations");
  expect_same(new16, new32, "W_hn h + b_hn");
  expect_same(out16, out32, "new state");
  expect_same(h16_float, h32, "state");
  expect_rounded_copy(h16, h16_float, "bf16 state");

  const auto dh = torch::randn({kRows, kHidden});
  auto dx32 = torch::empty_like(gates32), dx16 = torch::empty_like(gates32), dhg32 = torch::empty_like(gates32),
       dhg16 = torch::empty_like(gates32), carry32 = torch::empty_like(state), carry16 = torch::empty_like(state);
  auto dhg_bits = torch::empty({kRows, 3 * kHidden}, torch::kBFloat16);
  gru_step_backward(0, kRows, kHidden, dh.data_ptr<float>(), gates32.data_ptr<float>(), prev32.data_ptr<float>(),
                    new32.data_ptr<float>(), dx32.data_ptr<float>(), dhg32.data_ptr<float>(), carry32.data_ptr<float>());
  gru_step_backward_bf16(0, kRows, kHidden, dh.data_ptr<float>(), gates32.data_ptr<float>(), prev32.data_ptr<float>(),
                         new32.data_ptr<float>(), dx16.data_ptr<float>(), dhg16.data_ptr<float>(), bf16_data(dhg_bits),
                         carry16.data_ptr<float>());
  expect_same(dx16, dx32, "input-gate gradients");
  expect_same(dhg16, dhg32, "hidden-gate gradients");
  expect_same(carry16, carry32, "carry");
  expect_rounded_copy(dhg_bits, dhg16, "bf16 hidden-gate gradients");
}

TEST(RecurrentKernels, Bf16LstmStepsEqualFloatStepsOnTheSameProduct) {
  torch::manual_seed(8);
  const auto product = torch::randn({kRows, 4 * kHidden}).to(torch::kBFloat16);
  const auto input_gates = torch::randn({kRows, 4 * kHidden});  // input projection and both biases
  const auto h0 = torch::randn({kRows, kHidden}), c0 = torch::randn({kRows, kHidden});
  auto gates32 = input_gates + product.to(torch::kFloat), gates16 = input_gates.clone();
  auto h32 = h0.clone(), c32 = c0.clone(), h16_float = h0.clone(), c16 = c0.clone();
  auto h16 = torch::empty({kRows, kHidden}, torch::kBFloat16);
  std::vector<torch::Tensor> side32, side16;  // h_prev, c_prev, cells, tanh_c, out
  for (int i = 0; i < 5; ++i) {
    side32.push_back(torch::empty_like(h0));
    side16.push_back(torch::empty_like(h0));
  }
  lstm_step_forward(0, kRows, kHidden, gates32.data_ptr<float>(), h32.data_ptr<float>(), c32.data_ptr<float>(),
                    side32[0].data_ptr<float>(), side32[1].data_ptr<float>(), side32[2].data_ptr<float>(),
                    side32[3].data_ptr<float>(), side32[4].data_ptr<float>());
  const Bf16StepForward bf16{bf16_data(product), nullptr, bf16_data(h16)};
  lstm_step_forward_bf16(0, kRows, kHidden, gates16.data_ptr<float>(), bf16, h16_float.data_ptr<float>(),
                         c16.data_ptr<float>(), side16[0].data_ptr<float>(), side16[1].data_ptr<float>(),
                         side16[2].data_ptr<float>(), side16[3].data_ptr<float>(), side16[4].data_ptr<float>());
  expect_same(gates16, gates32, "activations");
  expect_same(c16, c32, "cell state");
  for (int i = 0; i < 5; ++i) expect_same(side16[i], side32[i], "saved step values");
  expect_rounded_copy(h16, h16_float, "bf16 state");
  // With the product already summed into the gates (W_hh packed for oneDNN), no product is passed.
  auto gates_held = input_gates + product.to(torch::kFloat), h_held = h0.clone(), c_held = c0.clone();
  auto h16_held = torch::empty({kRows, kHidden}, torch::kBFloat16);
  std::vector<torch::Tensor> side_held;
  for (int i = 0; i < 5; ++i) side_held.push_back(torch::empty_like(h0));
  lstm_step_forward_bf16(0, kRows, kHidden, gates_held.data_ptr<float>(), {nullptr, nullptr, bf16_data(h16_held)},
                         h_held.data_ptr<float>(), c_held.data_ptr<float>(), side_held[0].data_ptr<float>(),
                         side_held[1].data_ptr<float>(), side_held[2].data_ptr<float>(), side_held[3].data_ptr<float>(),
                         side_held[4].data_ptr<float>());
  expect_same(gates_held, gates32, "activations, product held in the gates");
  expect_same(c_held, c32, "cell state, product held in the gates");
  for (int i = 0; i < 5; ++i) expect_same(side_held[i], side32[i], "saved step values, product held in the gates");
  expect_rounded_copy(h16_held, h_held, "bf16 state, product held in the gates");

  const auto dh = torch::randn({kRows, kHidden}), dc = torch::randn({kRows, kHidden});
  auto dc32 = dc.clone(), dc16 = dc.clone(), dg32 = torch::empty_like(gates32), dg16 = torch::empty_like(gates32);
  auto dg_bits = torch::empty({kRows, 4 * kHidden}, torch::kBFloat16);
  lstm_step_backward(0, kRows, kHidden, dh.data_ptr<float>(), dc32.data_ptr<float>(), gates32.data_ptr<float>(),
                     side32[3].data_ptr<float>(), side32[1].data_ptr<float>(), dg32.data_ptr<float>());
  lstm_step_backward_bf16(0, kRows, kHidden, dh.data_ptr<float>(), dc16.data_ptr<float>(), gates32.data_ptr<float>(),
                          side32[3].data_ptr<float>(), side32[1].data_ptr<float>(), dg16.data_ptr<float>(),
                          bf16_data(dg_bits));
  expect_same(dg16, dg32, "gate gradients");
  expect_same(dc16, dc32, "cell-state gradient");
  expect_rounded_copy(dg_bits, dg16, "bf16 gate gradients");
}
