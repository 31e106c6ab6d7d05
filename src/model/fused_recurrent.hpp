// A fast path for torch::nn::LSTM and GRU layers: one autograd node per layer and direction
// instead of a graph of per-step cell operations. The forward pass keeps the per-step recurrent
// GEMM but computes the input projection for all steps at once; the backward pass computes the
// weight gradients and the input gradient as single large GEMMs over all rows (the per-step
// autograd graph does one small GEMM per step for each). It runs on packed rows, as
// PackedSequence holds them, so padding costs nothing and the encoder's packed bidirectional
// layers take it too. The weights stay the nn:: module's own parameters, so checkpoints are
// unchanged, and the module remains the reference it is tested against.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace nmt {

struct RecurrentLayerWeights {
  torch::Tensor w_ih, w_hh, b_ih, b_hh;  // PyTorch layout: LSTM gates i, f, g, o; GRU gates r, z, n
};

// The steps of a packed sequence: at step t the first batch_sizes[t] rows are active (the sizes
// never grow, as in a PackedSequence); the other rows keep their state. `reverse` runs the steps
// from last to first, as the backward direction of a bidirectional layer does.
struct StepSchedule {
  std::vector<int64_t> batch_sizes;
  bool reverse = false;
};

// One step's rows: packed rows [offset, offset + rows) are state rows [0, rows).
struct PackedStep {
  int64_t offset, rows;
};
// The steps in the order the forward pass runs them.
std::vector<PackedStep> packed_steps(const StepSchedule& schedule);
// The backward pass's walk over the steps, last first: for each, adds the step's rows of
// d_outputs (N, H; undefined when no gradient reached the outputs) to the first rows of dh_state
// (B, H), then calls step(offset, rows), which turns dh_state's rows into the previous state's.
template <typename StepFn>
void for_each_step_backward(const StepSchedule& schedule, torch::Tensor& dh_state, const torch::Tensor& d_outputs,
                            StepFn&& step) {
  const auto steps = packed_steps(schedule);
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    if (d_outputs.defined()) dh_state.narrow(0, 0, it->rows).add_(d_outputs.narrow(0, it->offset, it->rows));
    step(it->offset, it->rows);
  }
}

// A final state's incoming gradient as a dense (B, H) array the step kernels can write: a copy
// of `grad`, or zeros like `state` when none arrived.
inline torch::Tensor dense_state_gradient(const torch::Tensor& grad, const torch::Tensor& state) {
  return grad.defined() ? grad.clone(torch::MemoryFormat::Contiguous) : torch::zeros(state.sizes(), state.options());
}

// Rows per parallel task of a step's elementwise pass: enough work per task to pay for the hand-off.
inline int64_t rows_per_task(int64_t hidden) { return std::max<int64_t>(1, 16384 / hidden); }

// x (N, I) packed rows; h0, c0 (B, H). Returns the packed outputs (N, H) and the final h and c (B, H).
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> fused_lstm_layer(const torch::Tensor& x,
                                                                        const StepSchedule& schedule,
                                                                        const torch::Tensor& h0, const torch::Tensor& c0,
                                                                        const RecurrentLayerWeights& weights);
// x (N, I) packed rows; h0 (B, H). Returns the packed outputs (N, H) and the final h (B, H).
std::tuple<torch::Tensor, torch::Tensor> fused_gru_layer(const torch::Tensor& x, const StepSchedule& schedule,
                                                         const torch::Tensor& h0, const RecurrentLayerWeights& weights);

}  // namespace nmt
