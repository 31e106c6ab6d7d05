#include "model/fused_recurrent.hpp"

#include <ATen/Parallel.h>

#include "model/int8_weights.hpp"
#include "model/precision.hpp"
#include "model/recurrent_kernels.hpp"

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
  const Int8Matrix* int8_ih = int8_matrix(w.w_ih, w.b_ih);
  const Int8Matrix* int8_hh = int8_matrix(w.w_hh, w.b_hh);
  r.gates = int8_ih ? int8_ih->linear(x) : precise::addmm(w.b_ih, x, w.w_ih.t());
  r.outputs = torch::empty({x.size(0), hidden}, h0.options());  // x may be a bf16 operand
  r.hidden_new = torch::empty_like(r.outputs);
  r.h_prev = torch::empty_like(r.outputs);
  r.h = h0.clone(torch::MemoryFormat::Contiguous);  // the step kernels read the state as a dense array
  const Tensor w_hh_t = int8_hh ? Tensor() : precise::operand(w.w_hh).t();  // converted once for all steps
  float *gates = r.gates.data_ptr<float>(), *h = r.h.data_ptr<float>(), *h_prev = r.h_prev.data_ptr<float>(),
        *hidden_new = r.hidden_new.data_ptr<float>(), *out = r.outputs.data_ptr<float>();
  // In bf16 the kernel adds b_hh to the bf16 product and keeps the state's bf16 copy for the next one.
  const bool bf16 = current_precision() == Precision::bf16 && !int8_hh;
  const Tensor h16 = bf16 ? r.h.to(torch::kBFloat16) : Tensor();
  for (const PackedStep& step : packed_steps(schedule)) {
    const int64_t gate = step.offset * 3 * hidden, state = step.offset * hidden;
    if (bf16) {
      const Tensor recurrent = precise::bf16_mm(h16.narrow(0, 0, step.rows), w_hh_t);  // (rows, 3H), no bias
      const Bf16StepForward step16{bf16_data(recurrent), w.b_hh.data_ptr<float>(), bf16_data(h16)};
      at::parallel_for(0, step.rows, rows_per_task(hidden), [&](int64_t first, int64_t last) {
        gru_step_forward_bf16(first, last, hidden, gates + gate, step16, h, h_prev + state, hidden_new + state,
                              out + state);
      });
      continue;
    }
    const Tensor rows = r.h.narrow(0, 0, step.rows);
    const Tensor recurrent = int8_hh ? int8_hh->linear(rows) : precise::addmm(w.b_hh, rows, w_hh_t);  // (rows, 3H)
    const float* recurrent_data = recurrent.data_ptr<float>();
    at::parallel_for(0, step.rows, rows_per_task(hidden), [&](int64_t first, int64_t last) {
      gru_step_forward(first, last, hidden, gates + gate, recurrent_data, h, h_prev + state, hidden_new + state,
                       out + state);
    });
  }
  return r;
}

class FusedGruFunction : public torch::autograd::Function<FusedGruFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const Tensor& x, const Tensor& h0, const Tensor& w_ih,
                               const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                               const StepSchedule& schedule) {
    // The products' operands, converted once for both passes (in fp32, the tensors themselves).
    const Tensor x_operand = precise::operand(x), w_ih_operand = precise::operand(w_ih);
    const Tensor w_hh_operand = precise::operand(w_hh);
    auto r = gru_forward(x_operand, schedule, h0, {w_ih_operand, w_hh_operand, b_ih, b_hh});
    ctx->save_for_backward({x_operand, h0, w_ih_operand, w_hh_operand, r.gates, r.hidden_new, r.h_prev});
    ctx->saved_data["batch_sizes"] = schedule.batch_sizes;
    ctx->saved_data["reverse"] = schedule.reverse;
    ctx->saved_data["precision"] = static_cast<int64_t>(current_precision());
    return {r.outputs, r.h};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &h0 = saved[1], &w_ih = saved[2], &w_hh = saved[3];  // x, W as operands
    const Tensor &gates = saved[4], &hidden_new = saved[5], &h_prevs = saved[6];
    const StepSchedule schedule{ctx->saved_data["batch_sizes"].toIntVector(), ctx->saved_data["reverse"].toBool()};
    const PrecisionScope precision(static_cast<Precision>(ctx->saved_data["precision"].toInt()));
    const int64_t hidden = h0.size(1);
    Tensor dh_state = dense_state_gradient(grads[1], h0);
    Tensor d_input_gates = torch::empty_like(gates), d_hidden_gates = torch::empty_like(gates);
    // In bf16 the kernels also write the gradients that go through W_hh as its operand.
    const bool bf16 = current_precision() == Precision::bf16;
    const precise::RepeatedOperand w_hh_steps(w_hh, schedule.batch_sizes.size());  // in every step's product
    const Tensor d_hidden16 = bf16 ? torch::empty(gates.sizes(), gates.options().dtype(torch::kBFloat16)) : Tensor();
    const Tensor d_hidden_operand = bf16 ? d_hidden16 : d_hidden_gates;
    Tensor carry = torch::empty(h0.sizes(), h0.options());
    const float *dh = dh_state.data_ptr<float>(), *gate_data = gates.data_ptr<float>(),
                *h_prev_data = h_prevs.data_ptr<float>(), *hidden_new_data = hidden_new.data_ptr<float>();
    float *dx = d_input_gates.data_ptr<float>(), *dhg = d_hidden_gates.data_ptr<float>(),
          *carry_data = carry.data_ptr<float>();
    uint16_t* dhg16 = bf16 ? bf16_data(d_hidden16) : nullptr;
    for_each_step_backward(schedule, dh_state, grads[0], [&](int64_t offset, int64_t rows) {
      const int64_t gate = offset * 3 * hidden, state = offset * hidden;
      at::parallel_for(0, rows, rows_per_task(hidden), [&](int64_t first, int64_t last) {
        if (bf16)
          gru_step_backward_bf16(first, last, hidden, dh, gate_data + gate, h_prev_data + state,
                                 hidden_new_data + state, dx + gate, dhg + gate, dhg16 + gate, carry_data);
        else
          gru_step_backward(first, last, hidden, dh, gate_data + gate, h_prev_data + state, hidden_new_data + state,
                            dx + gate, dhg + gate, carry_data);
      });
      Tensor previous = dh_state.narrow(0, 0, rows);
      w_hh_steps.add_product(previous, carry.narrow(0, 0, rows), d_hidden_operand.narrow(0, offset, rows));
    });
    const Tensor d_inputs = precise::operand(d_input_gates);
    return {precise::mm(d_inputs, w_ih),
            dh_state,
            precise::mm(d_inputs.t(), x),
            precise::mm(precise::operand(d_hidden_operand).t(), h_prevs),
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
