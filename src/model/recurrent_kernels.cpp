#include "model/recurrent_kernels.hpp"

#include <cmath>

#define NMT_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace nmt {
namespace {
inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
}  // namespace

NMT_VECTOR_CLONES void gru_step_forward(int64_t first, int64_t last, int64_t hidden, float* __restrict gates,
                                        const float* __restrict recurrent, float* __restrict h,
                                        float* __restrict h_prev, float* __restrict hidden_new,
                                        float* __restrict out) {
  for (int64_t row = first; row < last; ++row) {
    const int64_t state = row * hidden, gate = row * 3 * hidden;
    float *r = gates + gate, *z = r + hidden, *n = z + hidden;
    const float *rec_r = recurrent + gate, *rec_z = rec_r + hidden, *rec_n = rec_z + hidden;
    for (int64_t k = 0; k < hidden; ++k) {
      const float reset = sigmoid(r[k] + rec_r[k]), update = sigmoid(z[k] + rec_z[k]);
      const float candidate = std::tanh(n[k] + reset * rec_n[k]);
      const float previous = h[state + k];
      const float next = candidate + update * (previous - candidate);  // h' = n + z * (h - n)
      r[k] = reset;
      z[k] = update;
      n[k] = candidate;
      hidden_new[state + k] = rec_n[k];
      h_prev[state + k] = previous;
      out[state + k] = next;
      h[state + k] = next;
    }
  }
}

NMT_VECTOR_CLONES void gru_step_backward(int64_t first, int64_t last, int64_t hidden, const float* __restrict dh,
                                         const float* __restrict gates, const float* __restrict h_prev,
                                         const float* __restrict hidden_new, float* __restrict d_input,
                                         float* __restrict d_hidden, float* __restrict carry) {
  for (int64_t row = first; row < last; ++row) {
    const int64_t state = row * hidden, gate = row * 3 * hidden;
    const float *r = gates + gate, *z = r + hidden, *n = z + hidden;
    float *dx_r = d_input + gate, *dx_z = dx_r + hidden, *dx_n = dx_z + hidden;
    float *dh_r = d_hidden + gate, *dh_z = dh_r + hidden, *dh_n = dh_z + hidden;
    for (int64_t k = 0; k < hidden; ++k) {
      const float d = dh[state + k];
      const float d_n = d * (1 - z[k]) * (1 - n[k] * n[k]);                  // through n = tanh(.)
      const float d_z = d * (h_prev[state + k] - n[k]) * z[k] * (1 - z[k]);  // through z
      const float d_r = d_n * hidden_new[state + k] * r[k] * (1 - r[k]);     // through r * (W_hn h + b_hn)
      dx_r[k] = dh_r[k] = d_r;
      dx_z[k] = dh_z[k] = d_z;
      dx_n[k] = d_n;
      dh_n[k] = d_n * r[k];
      carry[state + k] = d * z[k];
    }
  }
}

NMT_VECTOR_CLONES void lstm_step_forward(int64_t first, int64_t last, int64_t hidden, float* __restrict gates,
                                         float* __restrict h, float* __restrict c, float* __restrict h_prev,
                                         float* __restrict c_prev, float* __restrict cells,
                                         float* __restrict tanh_c, float* __restrict out) {
  for (int64_t row = first; row < last; ++row) {
    const int64_t state = row * hidden, gate = row * 4 * hidden;
    float *i = gates + gate, *f = i + hidden, *g = f + hidden, *o = g + hidden;
    for (int64_t k = 0; k < hidden; ++k) {
      const float input = sigmoid(i[k]), forget = sigmoid(f[k]), candidate = std::tanh(g[k]), output = sigmoid(o[k]);
      const float cell = forget * c[state + k] + input * candidate;
      const float squashed = std::tanh(cell);
      i[k] = input;
      f[k] = forget;
      g[k] = candidate;
      o[k] = output;
      h_prev[state + k] = h[state + k];
      c_prev[state + k] = c[state + k];
      cells[state + k] = c[state + k] = cell;
      tanh_c[state + k] = squashed;
      out[state + k] = h[state + k] = output * squashed;
    }
  }
}

NMT_VECTOR_CLONES void lstm_step_backward(int64_t first, int64_t last, int64_t hidden, const float* __restrict dh,
                                          float* __restrict dc, const float* __restrict gates,
                                          const float* __restrict tanh_c, const float* __restrict c_prev,
                                          float* __restrict d_gates) {
  for (int64_t row = first; row < last; ++row) {
    const int64_t state = row * hidden, gate = row * 4 * hidden;
    const float *i = gates + gate, *f = i + hidden, *g = f + hidden, *o = g + hidden;
    float *d_i = d_gates + gate, *d_f = d_i + hidden, *d_g = d_f + hidden, *d_o = d_g + hidden;
    for (int64_t k = 0; k < hidden; ++k) {
      const float d = dh[state + k], tc = tanh_c[state + k];
      const float d_cell = dc[state + k] + d * o[k] * (1 - tc * tc);
      d_i[k] = d_cell * g[k] * i[k] * (1 - i[k]);
      d_f[k] = d_cell * c_prev[state + k] * f[k] * (1 - f[k]);
      d_g[k] = d_cell * i[k] * (1 - g[k] * g[k]);
      d_o[k] = d * tc * o[k] * (1 - o[k]);
      dc[state + k] = d_cell * f[k];
    }
  }
}

}  // namespace nmt
