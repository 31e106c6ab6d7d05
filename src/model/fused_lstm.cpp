#include "model/fused_recurrent.hpp"

#include <ATen/Parallel.h>

namespace nmt {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct ForwardResult {
  Tensor outputs;         // (N, H)
  Tensor h, c;            // (B, H) final state
  Tensor gates;           // (N, 4H) activated gates i, f, g, o
  Tensor cells;           // (N, H) cell state after each row's step
  Tensor tanh_c;          // (N, H) tanh of it
  Tensor h_prev, c_prev;  // (N, H) the state each row started its step from
};

ForwardResult lstm_forward(const Tensor& x, const StepSchedule& schedule, const Tensor& h0, const Tensor& c0,
                           const RecurrentLayerWeights& w) {
  const int64_t hidden = h0.size(1);
  ForwardResult r;
  // Input projection (with both biases) for every row in one GEMM; the recurrent part is added in place.
  r.gates = torch::addmm(w.b_ih + w.b_hh, x, w.w_ih.t());
  r.outputs = torch::empty({x.size(0), hidden}, x.options());
  r.cells = torch::empty_like(r.outputs);
  r.tanh_c = torch::empty_like(r.outputs);
  r.h_prev = torch::empty_like(r.outputs);
  r.c_prev = torch::empty_like(r.outputs);
  r.h = h0.clone();
  r.c = c0.clone();
  const Tensor w_hh_t = w.w_hh.t();
  for (const PackedStep& step : packed_steps(schedule)) {
    Tensor h = r.h.narrow(0, 0, step.rows), c = r.c.narrow(0, 0, step.rows);
    Tensor h_prev = r.h_prev.narrow(0, step.offset, step.rows), c_prev = r.c_prev.narrow(0, step.offset, step.rows);
    h_prev.copy_(h);
    c_prev.copy_(c);
    Tensor gates = r.gates.narrow(0, step.offset, step.rows);
    gates.addmm_(h_prev, w_hh_t);
    gates.narrow(1, 0, 2 * hidden).sigmoid_();       // i, f
    gates.narrow(1, 2 * hidden, hidden).tanh_();     // g
    gates.narrow(1, 3 * hidden, hidden).sigmoid_();  // o
    Tensor cell = r.cells.narrow(0, step.offset, step.rows), tanh_cell = r.tanh_c.narrow(0, step.offset, step.rows),
           out = r.outputs.narrow(0, step.offset, step.rows);
    torch::mul_out(cell, gates.narrow(1, hidden, hidden), c_prev);
    cell.addcmul_(gates.narrow(1, 0, hidden), gates.narrow(1, 2 * hidden, hidden));
    torch::tanh_out(tanh_cell, cell);
    torch::mul_out(out, gates.narrow(1, 3 * hidden, hidden), tanh_cell);
    h.copy_(out);
    c.copy_(cell);
  }
  return r;
}

// One backward step's gate gradients, in one pass over the rows instead of a dozen tensor ops
// (each with its own allocation and parallel region), compiled per vector width. gates and
// d_gates are (rows, 4H) row-major, the others (rows, H); dc holds the cell-state gradient and
// leaves with the part that flows to the previous cell state.
__attribute__((target_clones("avx512f", "avx2", "default"))) void lstm_gate_gradients(
    int64_t first, int64_t last, int64_t hidden, const float* __restrict dh, float* __restrict dc,
    const float* __restrict gates, const float* __restrict tanh_c, const float* __restrict c_prev,
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

class FusedLstmFunction : public torch::autograd::Function<FusedLstmFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const Tensor& x, const Tensor& h0, const Tensor& c0,
                               const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                               const StepSchedule& schedule) {
    auto r = lstm_forward(x, schedule, h0, c0, {w_ih, w_hh, b_ih, b_hh});
    ctx->save_for_backward({x, h0, w_ih, w_hh, r.gates, r.tanh_c, r.h_prev, r.c_prev});
    ctx->saved_data["batch_sizes"] = schedule.batch_sizes;
    ctx->saved_data["reverse"] = schedule.reverse;
    return {r.outputs, r.h, r.c};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &h0 = saved[1], &w_ih = saved[2], &w_hh = saved[3];
    const Tensor &gates = saved[4], &tanh_c = saved[5], &h_prevs = saved[6], &c_prevs = saved[7];
    const StepSchedule schedule{ctx->saved_data["batch_sizes"].toIntVector(), ctx->saved_data["reverse"].toBool()};
    const int64_t hidden = h0.size(1);
    // The kernel below reads these as dense row-major arrays.
    Tensor dh_state = grads[1].defined() ? grads[1].clone(torch::MemoryFormat::Contiguous)
                                         : torch::zeros(h0.sizes(), h0.options());
    Tensor dc_state = grads[2].defined() ? grads[2].clone(torch::MemoryFormat::Contiguous)
                                         : torch::zeros(h0.sizes(), h0.options());
    const Tensor d_outputs = grads[0].defined() ? grads[0].contiguous() : Tensor();
    Tensor d_gates = torch::empty_like(gates);  // pre-activation gate gradients
    const float *gate_data = gates.data_ptr<float>(), *tanh_c_data = tanh_c.data_ptr<float>(),
                *c_prev_data = c_prevs.data_ptr<float>();
    const auto steps = packed_steps(schedule);
    for (auto step = steps.rbegin(); step != steps.rend(); ++step) {
      const int64_t offset = step->offset, rows = step->rows;
      Tensor dh = dh_state.narrow(0, 0, rows);
      if (d_outputs.defined()) dh.add_(d_outputs.narrow(0, offset, rows));
      const float* dh_data = dh_state.data_ptr<float>();
      float *dc_data = dc_state.data_ptr<float>(), *dg = d_gates.data_ptr<float>() + offset * 4 * hidden;
      at::parallel_for(0, rows, std::max<int64_t>(1, 16384 / hidden), [&](int64_t first, int64_t last) {
        lstm_gate_gradients(first, last, hidden, dh_data, dc_data, gate_data + offset * 4 * hidden,
                            tanh_c_data + offset * hidden, c_prev_data + offset * hidden, dg);
      });
      torch::mm_out(dh, d_gates.narrow(0, offset, rows), w_hh);
    }
    const Tensor d_bias = d_gates.sum(0);
    return {torch::mm(d_gates, w_ih),
            dh_state,
            dc_state,
            torch::mm(d_gates.t(), x),
            torch::mm(d_gates.t(), h_prevs),
            d_bias,
            d_bias.clone(),
            Tensor()};
  }
};

}  // namespace

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> fused_lstm_layer(const torch::Tensor& x,
                                                                        const StepSchedule& schedule,
                                                                        const torch::Tensor& h0, const torch::Tensor& c0,
                                                                        const RecurrentLayerWeights& weights) {
  if (!torch::GradMode::is_enabled()) {  // inference: no graph
    auto r = lstm_forward(x, schedule, h0, c0, weights);
    return {r.outputs, r.h, r.c};
  }
  auto out = FusedLstmFunction::apply(x, h0, c0, weights.w_ih, weights.w_hh, weights.b_ih, weights.b_hh, schedule);
  return {out[0], out[1], out[2]};
}

}  // namespace nmt
