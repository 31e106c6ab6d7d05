#include "model/fused_recurrent.hpp"

namespace nmt {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct ForwardResult {
  Tensor outputs;       // (T, B, H)
  Tensor gates;         // (T, B, 3H) activated r, z, n
  Tensor hidden_new;    // (T, B, H) the recurrent part of n before r scales it: W_hn h + b_hn
};

ForwardResult gru_forward(const Tensor& x, const Tensor& h0, const RecurrentLayerWeights& w) {
  const int64_t steps = x.size(0), batch = x.size(1), hidden = h0.size(1);
  ForwardResult r;
  // Input projection for every step in one GEMM; the recurrent projection is one GEMM per step.
  r.gates = torch::addmm(w.b_ih, x.reshape({steps * batch, -1}), w.w_ih.t()).view({steps, batch, 3 * hidden});
  r.outputs = torch::empty({steps, batch, hidden}, x.options());
  r.hidden_new = torch::empty_like(r.outputs);
  const Tensor w_hh_t = w.w_hh.t();
  Tensor h = h0;
  for (int64_t t = 0; t < steps; ++t) {
    const Tensor recurrent = torch::addmm(w.b_hh, h, w_hh_t);  // (B, 3H)
    Tensor gates = r.gates[t], out = r.outputs[t], hidden_new = r.hidden_new[t];
    Tensor rz = gates.narrow(1, 0, 2 * hidden), n = gates.narrow(1, 2 * hidden, hidden);
    rz.add_(recurrent.narrow(1, 0, 2 * hidden)).sigmoid_();
    hidden_new.copy_(recurrent.narrow(1, 2 * hidden, hidden));
    n.addcmul_(gates.narrow(1, 0, hidden), hidden_new).tanh_();
    // h' = n + z * (h - n)
    torch::sub_out(out, h, n);
    out.mul_(gates.narrow(1, hidden, hidden)).add_(n);
    h = out;
  }
  return r;
}

class FusedGruFunction : public torch::autograd::Function<FusedGruFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const Tensor& x, const Tensor& h0, const Tensor& w_ih,
                               const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
    auto r = gru_forward(x, h0, {w_ih, w_hh, b_ih, b_hh});
    ctx->save_for_backward({x, h0, w_ih, w_hh, r.gates, r.hidden_new, r.outputs});
    return {r.outputs, r.outputs[x.size(0) - 1].clone()};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &h0 = saved[1], &w_ih = saved[2], &w_hh = saved[3];
    const Tensor &gates = saved[4], &hidden_new = saved[5], &outputs = saved[6];
    const int64_t steps = x.size(0), batch = x.size(1), hidden = h0.size(1);
    Tensor dh = grads[1].defined() ? grads[1].clone() : torch::zeros_like(h0);
    Tensor d_input_gates = torch::empty_like(gates), d_hidden_gates = torch::empty_like(gates);
    for (int64_t t = steps - 1; t >= 0; --t) {
      if (grads[0].defined()) dh.add_(grads[0][t]);
      const Tensor g = gates[t];
      const Tensor r = g.narrow(1, 0, hidden), z = g.narrow(1, hidden, hidden), n = g.narrow(1, 2 * hidden, hidden);
      const Tensor h_prev = t > 0 ? outputs[t - 1] : h0;
      Tensor dx = d_input_gates[t], dhg = d_hidden_gates[t];
      Tensor dx_r = dx.narrow(1, 0, hidden), dx_z = dx.narrow(1, hidden, hidden), dx_n = dx.narrow(1, 2 * hidden, hidden);
      Tensor dh_r = dhg.narrow(1, 0, hidden), dh_z = dhg.narrow(1, hidden, hidden), dh_n = dhg.narrow(1, 2 * hidden, hidden);
      torch::mul_out(dx_n, dh * (1 - z), 1 - n * n);              // through n = tanh(.)
      torch::mul_out(dx_z, dh * (h_prev - n), z * (1 - z));      // through z
      torch::mul_out(dx_r, dx_n * hidden_new[t], r * (1 - r));   // through r * (W_hn h + b_hn)
      torch::mul_out(dh_n, dx_n, r);
      dh_r.copy_(dx_r);
      dh_z.copy_(dx_z);
      dh = torch::addmm(dh * z, dhg, w_hh);
    }
    const Tensor flat_x = d_input_gates.view({steps * batch, 3 * hidden});
    const Tensor flat_h = d_hidden_gates.view({steps * batch, 3 * hidden});
    const Tensor h_prev = torch::cat({h0.unsqueeze(0), outputs.narrow(0, 0, steps - 1)}, 0).view({steps * batch, hidden});
    return {torch::mm(flat_x, w_ih).view({steps, batch, -1}),
            dh,
            torch::mm(flat_x.t(), x.reshape({steps * batch, -1})),
            torch::mm(flat_h.t(), h_prev),
            flat_x.sum(0),
            flat_h.sum(0)};
  }
};

}  // namespace

std::tuple<torch::Tensor, torch::Tensor> fused_gru_layer(const torch::Tensor& x, const torch::Tensor& h0,
                                                         const RecurrentLayerWeights& weights) {
  if (!torch::GradMode::is_enabled()) {  // inference: no graph, nothing to save
    auto r = gru_forward(x, h0, weights);
    return {r.outputs, r.outputs[x.size(0) - 1]};
  }
  auto out = FusedGruFunction::apply(x, h0, weights.w_ih, weights.w_hh, weights.b_ih, weights.b_hh);
  return {out[0], out[1]};
}

}  // namespace nmt
