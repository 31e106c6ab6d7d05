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

// LSTM forward. gates (rows, 4H) holds the pre-activations of i, f, g, o (both projections added)
// and leaves with their activations; h and c (rows, H) are the state, updated in place; cells and
// tanh_c get the new cell state and its tanh, h_prev and c_prev the state before the step, out the new h.
void lstm_step_forward(int64_t first, int64_t last, int64_t hidden, float* gates, float* h, float* c, float* h_prev,
                       float* c_prev, float* cells, float* tanh_c, float* out);

// LSTM backward. dh (rows, H) is the gradient of the step's output; dc holds the cell-state
// gradient and leaves with the part that flows to the previous cell state; d_gates (rows, 4H).
void lstm_step_backward(int64_t first, int64_t last, int64_t hidden, const float* dh, float* dc, const float* gates,
                        const float* tanh_c, const float* c_prev, float* d_gates);

}  // namespace nmt
