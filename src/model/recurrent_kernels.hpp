// The elementwise part of one step of the fused GRU and LSTM layers (model/fused_recurrent.hpp),
// for rows [first, last) of row-major float arrays: one pass per step instead of a dozen tensor
// ops, each with its own allocation and parallel region. Compiled per vector width and chosen at
// load time; this file's sigmoid and tanh use the vector math library (fast-math), so results
// differ from torch's in the last bits.
#pragma once
#include <cstdint>

namespace nmt {

// GRU forward. gates (rows, 3H) holds the input projection of r, z, n and leaves with their
// activations; recurrent (rows, 3H) is W_hh h + b_hh; h (rows, H) is the state, updated in place.
// hidden_new gets W_hn h + b_hn, h_prev the state before the step, out the new state.
void gru_step_forward(int64_t first, int64_t last, int64_t hidden, float* gates, const float* recurrent, float* h,
                      float* h_prev, float* hidden_new, float* out);

// GRU backward. dh (rows, H) is the gradient of the step's output; gates, d_input and d_hidden are
// (rows, 3H), the others (rows, H). carry gets dh * z, the part that flows to the previous state
// directly.
void gru_step_backward(int64_t first, int64_t last, int64_t hidden, const float* dh, const float* gates,
                       const float* h_prev, const float* hidden_new, float* d_input, float* d_hidden, float* carry);

// The bf16 steps of bf16 training: the recurrent product W_hh h arrives as bf16, without b_hh
// (the GRU kernel adds it; the LSTM's gates already hold both biases), and the kernels also write
// the bf16 copies the next products multiply: the new state, and in the backward pass the gate
// gradients that go through W_hh. So a step converts nothing with tensor ops; the arithmetic is
// the float kernel's on the same bf16 product (fast-math may order its additions differently).
struct Bf16StepForward {
  const uint16_t* recurrent;  // (rows, 3H or 4H), bf16 bits; LSTM: null where the gates already hold it
  const float* bias;          // GRU: b_hh (3H)
  uint16_t* h;                // (rows, H): the new state, bf16 bits
};
void gru_step_forward_bf16(int64_t first, int64_t last, int64_t hidden, float* gates, const Bf16StepForward& bf16,
                           float* h, float* h_prev, float* hidden_new, float* out);
// d_hidden16 (rows, 3H) gets d_hidden in bf16.
void gru_step_backward_bf16(int64_t first, int64_t last, int64_t hidden, const float* dh, const float* gates,
                            const float* h_prev, const float* hidden_new, float* d_input, float* d_hidden,
                            uint16_t* d_hidden16, float* carry);

// LSTM forward. gates (rows, 4H) holds the pre-activations of i, f, g, o (both projections added)
// and leaves with their activations; h and c (rows, H) are the state, updated in place; cells and
// tanh_c get the new cell state and its tanh, h_prev and c_prev the state before the step, out the new h.
void lstm_step_forward(int64_t first, int64_t last, int64_t hidden, float* gates, float* h, float* c, float* h_prev,
                       float* c_prev, float* cells, float* tanh_c, float* out);

// LSTM backward. dh (rows, H) is the gradient of the step's output; dc holds the cell-state
// gradient and leaves with the part that flows to the previous cell state; d_gates (rows, 4H).
void lstm_step_backward(int64_t first, int64_t last, int64_t hidden, const float* dh, float* dc, const float* gates,
                        const float* tanh_c, const float* c_prev, float* d_gates);

// The LSTM's bf16 steps; d_gates16 (rows, 4H) gets d_gates in bf16.
void lstm_step_forward_bf16(int64_t first, int64_t last, int64_t hidden, float* gates, const Bf16StepForward& bf16,
                            float* h, float* c, float* h_prev, float* c_prev, float* cells, float* tanh_c, float* out);
void lstm_step_backward_bf16(int64_t first, int64_t last, int64_t hidden, const float* dh, float* dc,
                             const float* gates, const float* tanh_c, const float* c_prev, float* d_gates,
                             uint16_t* d_gates16);

}  // namespace nmt
