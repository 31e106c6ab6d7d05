#include "model/fused_recurrent.hpp"

namespace nmt {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct ForwardResult {
  Tensor outputs;     // (N, H)
  Tensor h;           // (B, H) final state
  Tensor gates;       // (N, 3H) activated r, z, n
  Tensor hidden_new;  // (N, H) the recurrent part of n before r scales it: W_hn h + b_hn
  Tensor h_prev;      // (N, H) the state each row started its step from
};

ForwardResult gru_forward(const Tensor& x, const StepSchedule& schedule, const Tensor& h0,
                          const RecurrentLayerWeights& w) {
  const int64_t hidden = h0.size(1);
  ForwardResult r;
  // Input projection for every row in one GEMM; the recurrent projection is one GEMM per step.
  r.gates = torch::addmm(w.b_ih, x, w.w_ih.t());
  r.outputs = torch::empty({x.size(0), hidden}, x.options());
  r.hidden_new = torch::empty_like(r.outputs);
  r.h_prev = torch::empty_like(r.outputs);
  r.h = h0.clone();
  const Tensor w_hh_t = w.w_hh.t();
  for (const PackedStep& step : packed_steps(schedule)) {
    Tensor h = r.h.narrow(0, 0, step.rows), h_prev = r.h_prev.narrow(0, step.offset, step.rows);
    h_prev.copy_(h);
    const Tensor recurrent = torch::addmm(w.b_hh, h_prev, w_hh_t);  // (rows, 3H)
    Tensor gates = r.gates.narrow(0, step.offset, step.rows), out = r.outputs.narrow(0, step.offset, step.rows),
           hidden_new = r.hidden_new.narrow(0, step.offset, step.rows);
    Tensor rz = gates.narrow(1, 0, 2 * hidden), n = gates.narrow(1, 2 * hidden, hidden);
    rz.add_(recurrent.narrow(1, 0, 2 * hidden)).sigmoid_();
    hidden_new.copy_(recurrent.narrow(1, 2 * hidden, hidden));
    n.addcmul_(gates.narrow(1, 0, hidden), hidden_new).tanh_();
    // h' = n + z * (h - n)
    torch::sub_out(out, h_prev, n);
    out.mul_(gates.narrow(1, hidden, hidden)).add_(n);
    h.copy_(out);
  }
  return r;
}

class FusedGruFunction : public torch::autograd::Function<FusedGruFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const Tensor& x, const Tensor& h0, const Tensor& w_ih,
                               const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                               const StepSchedule& schedule) {
    auto r = gru_forward(x, schedule, h0, {w_ih, w_hh, b_ih, b_hh});
    ctx->save_for_backward({x, h0, w_ih, w_hh, r.gates, r.hidden_new, r.h_prev});
    ctx->saved_data["batch_sizes"] = schedule.batch_sizes;
    ctx->saved_data["reverse"] = schedule.reverse;
    return {r.outputs, r.h};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &h0 = saved[1], &w_ih = saved[2], &w_hh = saved[3];
    const Tensor &gates = saved[4], &hidden_new = saved[5], &h_prevs = saved[6];
    const StepSchedule schedule{ctx->saved_data["batch_sizes"].toIntVector(), ctx->saved_data["reverse"].toBool()};
    const int64_t hidden = h0.size(1);
    Tensor dh_state = grads[1].defined() ? grads[1].clone() : torch::zeros_like(h0);
    Tensor d_input_gates = torch::empty_like(gates), d_hidden_gates = torch::empty_like(gates);
    const auto steps = packed_steps(schedule);
    for (auto step = steps.rbegin(); step != steps.rend(); ++step) {
      const int64_t offset = step->offset, rows = step->rows;
      Tensor dh = dh_state.narrow(0, 0, rows);
      if (grads[0].defined()) dh.add_(grads[0].narrow(0, offset, rows));
      const Tensor g = gates.narrow(0, offset, rows);
      const Tensor r = g.narrow(1, 0, hidden), z = g.narrow(1, hidden, hidden), n = g.narrow(1, 2 * hidden, hidden);
      const Tensor h_prev = h_prevs.narrow(0, offset, rows);
      Tensor dx = d_input_gates.narrow(0, offset, rows), dhg = d_hidden_gates.narrow(0, offset, rows);
      Tensor dx_r = dx.narrow(1, 0, hidden), dx_z = dx.narrow(1, hidden, hidden), dx_n = dx.narrow(1, 2 * hidden, hidden);
      Tensor dh_r = dhg.narrow(1, 0, hidden), dh_z = dhg.narrow(1, hidden, hidden), dh_n = dhg.narrow(1, 2 * hidden, hidden);
      torch::mul_out(dx_n, dh * (1 - z), 1 - n * n);                                 // through n = tanh(.)
      torch::mul_out(dx_z, dh * (h_prev - n), z * (1 - z));                         // through z
      torch::mul_out(dx_r, dx_n * hidden_new.narrow(0, offset, rows), r * (1 - r));  // through r * (W_hn h + b_hn)
      torch::mul_out(dh_n, dx_n, r);
      dh_r.copy_(dx_r);
      dh_z.copy_(dx_z);
      dh.copy_(torch::addmm(dh * z, dhg, w_hh));
    }
    return {torch::mm(d_input_gates, w_ih),
            dh_state,
            torch::mm(d_input_gates.t(), x),
            torch::mm(d_hidden_gates.t(), h_prevs),
            d_input_gates.sum(0),
            d_hidden_gates.sum(0),
            Tensor()};
  }
};

}  // namespace

std::tuple<torch::Tensor, torch::Tensor> fused_gru_layer(const torch::Tensor& x, const StepSchedule& schedule,
                                                         const torch::Tensor& h0, const RecurrentLayerWeights& weights) {
  if (!torch::GradMode::is_enabled()) {  // inference: no graph
    auto r = gru_forward(x, schedule, h0, weights);
    return {r.outputs, r.h};
  }
  auto out = FusedGruFunction::apply(x, h0, weights.w_ih, weights.w_hh, weights.b_ih, weights.b_hh, schedule);
  return {out[0], out[1]};
}

}  // namespace nmt
