#include "model/recurrent_kernels.hpp"

#include <cmath>

#include "runtime/bf16_bits.hpp"
#include "runtime/vector_clones.hpp"

namespace nmt {
namespace {

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// The arrays a kernel reads and writes never overlap. Inlining drops the parameters' __restrict,
// and GCC then guards the vector loop with overlap checks that sent the LSTM's bf16 backward rows
// down its scalar copy; this states it for the loop itself.
#if defined(__clang__)
#define NMT_NO_ALIASING _Pragma("clang loop vectorize(assume_safety)")
#else
#define NMT_NO_ALIASING _Pragma("GCC ivdep")
#endif

// Each kernel's arithmetic once, instantiated for float steps and for bf16 steps (which read the
// recurrent product as bf16 and also write the bf16 copies the next products multiply); inlined
// into every vector-width clone of its entry points.
template <bool kBf16>
[[gnu::always_inline]] inline void gru_forward_rows(int64_t first, int64_t last, int64_t hidden,
                                                    float* __restrict gates, const float* __restrict recurrent,
                                                    const uint16_t* __restrict recurrent16,
                                                    const float* __restrict bias, float* __restrict h,
                                                    uint16_t* __restrict h16, float* __restrict h_prev,
                                                    float* __restrict hidden_new, float* __restrict out) {
  for (int64_t row = first; row < last; ++row) {
    const int64_t state = row * hidden, gate = row * 3 * hidden;
    float *r = gates + gate, *z = r + hidden, *n = z + hidden;
    NMT_NO_ALIASING
    for (int64_t k = 0; k < hidden; ++k) {
      float rec_r, rec_z, rec_n;  // W_hh h + b_hh for r, z and n
      if constexpr (kBf16) {
        rec_r = widen_bf16(recurrent16[gate + k]) + bias[k];
        rec_z = widen_bf16(recurrent16[gate + hidden + k]) + bias[hidden + k];
        rec_n = widen_bf16(recurrent16[gate + 2 * hidden + k]) + bias[2 * hidden + k];
      } else {
        rec_r = recurrent[gate + k];
        rec_z = recurrent[gate + hidden + k];
        rec_n = recurrent[gate + 2 * hidden + k];
      }
      const float reset = sigmoid(r[k] + rec_r), update = sigmoid(z[k] + rec_z);
      const float candidate = std::tanh(n[k] + reset * rec_n);
      const float previous = h[state + k];
      const float next = candidate + update * (previous - candidate);  // h' = n + z * (h - n)
      r[k] = reset;
      z[k] = update;
      n[k] = candidate;
      hidden_new[state + k] = rec_n;
      h_prev[state + k] = previous;
      out[state + k] = next;
      h[state + k] = next;
      if constexpr (kBf16) h16[state + k] = narrow_to_bf16(next);
    }
  }
}

template <bool kBf16>
[[gnu::always_inline]] inline void gru_backward_rows(int64_t first, int64_t last, int64_t hidden,
                                                     const float* __restrict dh, const float* __restrict gates,
                                                     const float* __restrict h_prev,
                                                     const float* __restrict hidden_new, float* __restrict d_input,
                                                     float* __restrict d_hidden, uint16_t* __restrict d_hidden16,
                                                     float* __restrict carry) {
  for (int64_t row = first; row < last; ++row) {
    const int64_t state = row * hidden, gate = row * 3 * hidden;
    const float *r = gates + gate, *z = r + hidden, *n = z + hidden;
    float *dx_r = d_input + gate, *dx_z = dx_r + hidden, *dx_n = dx_z + hidden;
    float *dh_r = d_hidden + gate, *dh_z = dh_r + hidden, *dh_n = dh_z + hidden;
    NMT_NO_ALIASING
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
      if constexpr (kBf16) {
        d_hidden16[gate + k] = narrow_to_bf16(d_r);
        d_hidden16[gate + hidden + k] = narrow_to_bf16(d_z);
        d_hidden16[gate + 2 * hidden + k] = narrow_to_bf16(d_n * r[k]);
      }
    }
  }
}

// kRecurrent16: the bf16 recurrent product is still to be added (else the gates hold it).
template <bool kBf16, bool kRecurrent16>
[[gnu::always_inline]] inline void lstm_forward_rows(int64_t first, int64_t last, int64_t hidden,
                                                     float* __restrict gates, const uint16_t* __restrict recurrent16,
                                                     float* __restrict h, uint16_t* __restrict h16,
                                                     float* __restrict c, float* __restrict h_prev,
                                                     float* __restrict c_prev, float* __restrict cells,
                                                     float* __restrict tanh_c, float* __restrict out) {
  for (int64_t row = first; row < last; ++row) {
    const int64_t state = row * hidden, gate = row * 4 * hidden;
    float *i = gates + gate, *f = i + hidden, *g = f + hidden, *o = g + hidden;
    NMT_NO_ALIASING
    for (int64_t k = 0; k < hidden; ++k) {
      float pre_i = i[k], pre_f = f[k], pre_g = g[k], pre_o = o[k];
      if constexpr (kRecurrent16) {  // the float gates hold the input projection and both biases
        pre_i += widen_bf16(recurrent16[gate + k]);
        pre_f += widen_bf16(recurrent16[gate + hidden + k]);
        pre_g += widen_bf16(recurrent16[gate + 2 * hidden + k]);
        pre_o += widen_bf16(recurrent16[gate + 3 * hidden + k]);
      }
      const float input = sigmoid(pre_i), forget = sigmoid(pre_f), candidate = std::tanh(pre_g),
                  output = sigmoid(pre_o);
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
      if constexpr (kBf16) h16[state + k] = narrow_to_bf16(output * squashed);
    }
  }
}

template <bool kBf16>
[[gnu::always_inline]] inline void lstm_backward_rows(int64_t first, int64_t last, int64_t hidden,
                                                      const float* __restrict dh, float* __restrict dc,
                                                      const float* __restrict gates, const float* __restrict tanh_c,
                                                      const float* __restrict c_prev, float* __restrict d_gates,
                                                      uint16_t* __restrict d_gates16) {
  for (int64_t row = first; row < last; ++row) {
    const int64_t state = row * hidden, gate = row * 4 * hidden;
    const float *i = gates + gate, *f = i + hidden, *g = f + hidden, *o = g + hidden;
    float *d_i = d_gates + gate, *d_f = d_i + hidden, *d_g = d_f + hidden, *d_o = d_g + hidden;
    NMT_NO_ALIASING
    for (int64_t k = 0; k < hidden; ++k) {
      const float d = dh[state + k], tc = tanh_c[state + k];
      const float d_cell = dc[state + k] + d * o[k] * (1 - tc * tc);
      const float di = d_cell * g[k] * i[k] * (1 - i[k]), df = d_cell * c_prev[state + k] * f[k] * (1 - f[k]),
                  dg = d_cell * i[k] * (1 - g[k] * g[k]), d_out = d * tc * o[k] * (1 - o[k]);
      d_i[k] = di;
      d_f[k] = df;
      d_g[k] = dg;
      d_o[k] = d_out;
      dc[state + k] = d_cell * f[k];
      if constexpr (kBf16) {
        d_gates16[gate + k] = narrow_to_bf16(di);
        d_gates16[gate + hidden + k] = narrow_to_bf16(df);
        d_gates16[gate + 2 * hidden + k] = narrow_to_bf16(dg);
        d_gates16[gate + 3 * hidden + k] = narrow_to_bf16(d_out);
      }
    }
  }
}

}  // namespace

NMT_VECTOR_CLONES void gru_step_forward(int64_t first, int64_t last, int64_t hidden, float* gates,
                                        const float* recurrent, float* h, float* h_prev, float* hidden_new,
                                        float* out) {
  gru_forward_rows<false>(first, last, hidden, gates, recurrent, nullptr, nullptr, h, nullptr, h_prev, hidden_new,
                          out);
}

NMT_VECTOR_CLONES void gru_step_forward_bf16(int64_t first, int64_t last, int64_t hidden, float* gates,
                                             const Bf16StepForward& bf16, float* h, float* h_prev, float* hidden_new,
                                             float* out) {
  gru_forward_rows<true>(first, last, hidden, gates, nullptr, bf16.recurrent, bf16.bias, h, bf16.h, h_prev,
                         hidden_new, out);
}

NMT_VECTOR_CLONES void gru_step_backward(int64_t first, int64_t last, int64_t hidden, const float* dh,
                                         const float* gates, const float* h_prev, const float* hidden_new,
                                         float* d_input, float* d_hidden, float* carry) {
  gru_backward_rows<false>(first, last, hidden, dh, gates, h_prev, hidden_new, d_input, d_hidden, nullptr, carry);
}

NMT_VECTOR_CLONES void gru_step_backward_bf16(int64_t first, int64_t last, int64_t hidden, const float* dh,
                                              const float* gates, const float* h_prev, const float* hidden_new,
                                              float* d_input, float* d_hidden, uint16_t* d_hidden16, float* carry) {
  gru_backward_rows<true>(first, last, hidden, dh, gates, h_prev, hidden_new, d_input, d_hidden, d_hidden16, carry);
}

NMT_VECTOR_CLONES void lstm_step_forward(int64_t first, int64_t last, int64_t hidden, float* gates, float* h,
                                         float* c, float* h_prev, float* c_prev, float* cells, float* tanh_c,
                                         float* out) {
  lstm_forward_rows<false, false>(first, last, hidden, gates, nullptr, h, nullptr, c, h_prev, c_prev, cells, tanh_c, out);
}

NMT_VECTOR_CLONES void lstm_step_forward_bf16(int64_t first, int64_t last, int64_t hidden, float* gates,
                                              const Bf16StepForward& bf16, float* h, float* c, float* h_prev,
                                              float* c_prev, float* cells, float* tanh_c, float* out) {
  if (bf16.recurrent)
    lstm_forward_rows<true, true>(first, last, hidden, gates, bf16.recurrent, h, bf16.h, c, h_prev, c_prev, cells,
                                  tanh_c, out);
  else
    lstm_forward_rows<true, false>(first, last, hidden, gates, nullptr, h, bf16.h, c, h_prev, c_prev, cells, tanh_c,
                                   out);
}

NMT_VECTOR_CLONES void lstm_step_backward(int64_t first, int64_t last, int64_t hidden, const float* dh, float* dc,
                                          const float* gates, const float* tanh_c, const float* c_prev,
                                          float* d_gates) {
  lstm_backward_rows<false>(first, last, hidden, dh, dc, gates, tanh_c, c_prev, d_gates, nullptr);
}

NMT_VECTOR_CLONES void lstm_step_backward_bf16(int64_t first, int64_t last, int64_t hidden, const float* dh,
                                               float* dc, const float* gates, const float* tanh_c,
                                               const float* c_prev, float* d_gates, uint16_t* d_gates16) {
  lstm_backward_rows<true>(first, last, hidden, dh, dc, gates, tanh_c, c_prev, d_gates, d_gates16);
}

}  // namespace nmt
