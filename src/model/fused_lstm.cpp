#include "model/fused_recurrent.hpp"

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
    Tensor dh_state = grads[1].defined() ? grads[1].clone() : torch::zeros_like(h0);
    Tensor dc_state = grads[2].defined() ? grads[2].clone() : torch::zeros_like(h0);
    Tensor d_gates = torch::empty_like(gates);  // pre-activation gate gradients
    const auto steps = packed_steps(schedule);
    for (auto step = steps.rbegin(); step != steps.rend(); ++step) {
      const int64_t offset = step->offset, rows = step->rows;
      Tensor dh = dh_state.narrow(0, 0, rows), dc = dc_state.narrow(0, 0, rows);
      if (grads[0].defined()) dh.add_(grads[0].narrow(0, offset, rows));
      const Tensor g = gates.narrow(0, offset, rows);
      const Tensor i = g.narrow(1, 0, hidden), f = g.narrow(1, hidden, hidden), cand = g.narrow(1, 2 * hidden, hidden),
                   o = g.narrow(1, 3 * hidden, hidden);
      const Tensor tc = tanh_c.narrow(0, offset, rows), c_prev = c_prevs.narrow(0, offset, rows);
      // dc += dh * o * (1 - tanh(c)^2)
      dc.addcmul_(dh * o, 1 - tc * tc);
      Tensor dg = d_gates.narrow(0, offset, rows);
      Tensor d_i = dg.narrow(1, 0, hidden), d_f = dg.narrow(1, hidden, hidden),
             d_cand = dg.narrow(1, 2 * hidden, hidden), d_o = dg.narrow(1, 3 * hidden, hidden);
      torch::mul_out(d_i, dc * cand, i * (1 - i));
      torch::mul_out(d_f, dc * c_prev, f * (1 - f));
      torch::mul_out(d_cand, dc * i, 1 - cand * cand);
      torch::mul_out(d_o, dh * tc, o * (1 - o));
      dc.mul_(f);
      torch::mm_out(dh, dg, w_hh);
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
