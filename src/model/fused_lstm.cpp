#include "model/fused_recurrent.hpp"

namespace nmt {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct ForwardResult {
  Tensor outputs, h, c;
  Tensor gates;   // (T, B, 4H) activated gates i, f, g, o
  Tensor cells;   // (T, B, H) cell state after each step
  Tensor tanh_c;  // (T, B, H) tanh of it
};

ForwardResult lstm_forward(const Tensor& x, const Tensor& h0, const Tensor& c0, const RecurrentLayerWeights& w) {
  const int64_t steps = x.size(0), batch = x.size(1), hidden = h0.size(1);
  ForwardResult r;
  // Input projection (with both biases) for every step in one GEMM; the recurrent part is added in place.
  r.gates = torch::addmm(w.b_ih + w.b_hh, x.reshape({steps * batch, -1}), w.w_ih.t()).view({steps, batch, 4 * hidden});
  r.outputs = torch::empty({steps, batch, hidden}, x.options());
  r.cells = torch::empty_like(r.outputs);
  r.tanh_c = torch::empty_like(r.outputs);
  const Tensor w_hh_t = w.w_hh.t();
  Tensor h = h0, c = c0;
  for (int64_t t = 0; t < steps; ++t) {
    Tensor gates = r.gates[t];
    gates.addmm_(h, w_hh_t);
    gates.narrow(1, 0, 2 * hidden).sigmoid_();  // i, f
    gates.narrow(1, 2 * hidden, hidden).tanh_();  // g
    gates.narrow(1, 3 * hidden, hidden).sigmoid_();  // o
    Tensor cell = r.cells[t], tanh_cell = r.tanh_c[t], out = r.outputs[t];
    torch::mul_out(cell, gates.narrow(1, hidden, hidden), c);
    cell.addcmul_(gates.narrow(1, 0, hidden), gates.narrow(1, 2 * hidden, hidden));
    torch::tanh_out(tanh_cell, cell);
    torch::mul_out(out, gates.narrow(1, 3 * hidden, hidden), tanh_cell);
    h = out;
    c = cell;
  }
  r.h = h;
  r.c = c;
  return r;
}

class FusedLstmFunction : public torch::autograd::Function<FusedLstmFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const Tensor& x, const Tensor& h0, const Tensor& c0,
                               const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
    auto r = lstm_forward(x, h0, c0, {w_ih, w_hh, b_ih, b_hh});
    ctx->save_for_backward({x, h0, c0, w_ih, w_hh, r.gates, r.cells, r.tanh_c, r.outputs});
    return {r.outputs, r.h.clone(), r.c.clone()};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &h0 = saved[1], &c0 = saved[2], &w_ih = saved[3], &w_hh = saved[4];
    const Tensor &gates = saved[5], &cells = saved[6], &tanh_c = saved[7], &outputs = saved[8];
    const int64_t steps = x.size(0), batch = x.size(1), hidden = h0.size(1);
    Tensor dh = grads[1].defined() ? grads[1].clone() : torch::zeros_like(h0);
    Tensor dc = grads[2].defined() ? grads[2].clone() : torch::zeros_like(c0);
    Tensor d_gates = torch::empty_like(gates);  // pre-activation gate gradients
    for (int64_t t = steps - 1; t >= 0; --t) {
      if (grads[0].defined()) dh.add_(grads[0][t]);
      const Tensor g = gates[t];
      const Tensor i = g.narrow(1, 0, hidden), f = g.narrow(1, hidden, hidden), cand = g.narrow(1, 2 * hidden, hidden),
                   o = g.narrow(1, 3 * hidden, hidden);
      const Tensor tc = tanh_c[t];
      const Tensor c_prev = t > 0 ? cells[t - 1] : c0;
      // dc += dh * o * (1 - tanh(c)^2)
      dc.addcmul_(dh * o, 1 - tc * tc);
      Tensor dg = d_gates[t];
      Tensor d_i = dg.narrow(1, 0, hidden), d_f = dg.narrow(1, hidden, hidden),
             d_cand = dg.narrow(1, 2 * hidden, hidden), d_o = dg.narrow(1, 3 * hidden, hidden);
      torch::mul_out(d_i, dc * cand, i * (1 - i));
      torch::mul_out(d_f, dc * c_prev, f * (1 - f));
      torch::mul_out(d_cand, dc * i, 1 - cand * cand);
      torch::mul_out(d_o, dh * tc, o * (1 - o));
      dc.mul_(f);
      dh = torch::mm(dg, w_hh);
    }
    const Tensor flat_d = d_gates.view({steps * batch, 4 * hidden});
    const Tensor h_prev = torch::cat({h0.unsqueeze(0), outputs.narrow(0, 0, steps - 1)}, 0).view({steps * batch, hidden});
    const Tensor d_bias = flat_d.sum(0);
    return {torch::mm(flat_d, w_ih).view({steps, batch, -1}),
            dh,
            dc,
            torch::mm(flat_d.t(), x.reshape({steps * batch, -1})),
            torch::mm(flat_d.t(), h_prev),
            d_bias,
            d_bias.clone()};
  }
};

}  // namespace

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> fused_lstm_layer(const torch::Tensor& x, const torch::Tensor& h0,
                                                                        const torch::Tensor& c0,
                                                                        const RecurrentLayerWeights& weights) {
  if (!torch::GradMode::is_enabled()) {  // inference: no graph, nothing to save
    auto r = lstm_forward(x, h0, c0, weights);
    return {r.outputs, r.h, r.c};
  }
  auto out = FusedLstmFunction::apply(x, h0, c0, weights.w_ih, weights.w_hh, weights.b_ih, weights.b_hh);
  return {out[0], out[1], out[2]};
}

}  // namespace nmt
