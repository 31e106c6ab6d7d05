#include "model/fused_recurrent.hpp"

#include <ATen/Parallel.h>

#include <optional>

#include "model/int8_weights.hpp"
#include "model/precision.hpp"
#include "model/recurrent_kernels.hpp"

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
  // Input projection (with both biases) for every row in one GEMM; the recurrent part is added in
  // place. In int8 decoding each product adds its own bias.
  const Int8Matrix* int8_ih = int8_matrix(w.w_ih, w.b_ih);
  const Int8Matrix* int8_hh = int8_matrix(w.w_hh, w.b_hh);
  r.gates = int8_ih ? int8_ih->linear(x) : precise::addmm(w.b_ih + w.b_hh, x, w.w_ih.t());
  r.outputs = torch::empty({x.size(0), hidden}, h0.options());  // x may be a bf16 operand
  r.cells = torch::empty_like(r.outputs);
  r.tanh_c = torch::empty_like(r.outputs);
  r.h_prev = torch::empty_like(r.outputs);
  r.c_prev = torch::empty_like(r.outputs);
  r.h = h0.clone(torch::MemoryFormat::Contiguous);  // the step kernels read the state as a dense array
  r.c = c0.clone(torch::MemoryFormat::Contiguous);
  const std::vector<PackedStep> steps = packed_steps(schedule);
  const std::optional<precise::RepeatedOperand> w_hh_t =  // converted once for all steps
      int8_hh ? std::nullopt : std::make_optional<precise::RepeatedOperand>(w.w_hh.t(), steps.size());
  float *gates = r.gates.data_ptr<float>(), *h = r.h.data_ptr<float>(), *c = r.c.data_ptr<float>(),
        *h_prev = r.h_prev.data_ptr<float>(), *c_prev = r.c_prev.data_ptr<float>(), *cells = r.cells.data_ptr<float>(),
        *tanh_c = r.tanh_c.data_ptr<float>(), *out = r.outputs.data_ptr<float>();
  // In bf16 the kernel keeps the state's bf16 copy for the next product, and adds the product where
  // it came back in bf16 (W_hh not packed for oneDNN).
  const bool bf16 = current_precision() == Precision::bf16 && !int8_hh;
  const Tensor h16 = bf16 ? r.h.to(torch::kBFloat16) : Tensor();
  for (const PackedStep& step : steps) {
    const int64_t gate = step.offset * 4 * hidden, state = step.offset * hidden;
    if (bf16) {
      Tensor step_gates = r.gates.narrow(0, step.offset, step.rows), recurrent;
      const Tensor h_rows = h16.narrow(0, 0, step.rows);
      if (w_hh_t->packed())
        w_hh_t->multiply(step_gates, h_rows, true);
      else
        recurrent = precise::bf16_mm(h_rows, w_hh_t->operand());  // (rows, 4H) bf16
      const Bf16StepForward step16{recurrent.defined() ? bf16_data(recurrent) : nullptr, nullptr, bf16_data(h16)};
      at::parallel_for(0, step.rows, rows_per_task(hidden), [&](int64_t first, int64_t last) {
        lstm_step_forward_bf16(first, last, hidden, gates + gate, step16, h, c, h_prev + state, c_prev + state,
                               cells + state, tanh_c + state, out + state);
      });
      continue;
    }
    Tensor step_gates = r.gates.narrow(0, step.offset, step.rows);
    if (int8_hh)
      step_gates.add_(int8_hh->linear(r.h.narrow(0, 0, step.rows)));
    else
      w_hh_t->multiply(step_gates, r.h.narrow(0, 0, step.rows), true);
    at::parallel_for(0, step.rows, rows_per_task(hidden), [&](int64_t first, int64_t last) {
      lstm_step_forward(first, last, hidden, gates + gate, h, c, h_prev + state, c_prev + state, cells + state,
                        tanh_c + state, out + state);
    });
  }
  return r;
}

class FusedLstmFunction : public torch::autograd::Function<FusedLstmFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const Tensor& x, const Tensor& h0, const Tensor& c0,
                               const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                               const StepSchedule& schedule) {
    // The products' operands, converted once for both passes (in fp32, the tensors themselves).
    const Tensor x_operand = precise::operand(x), w_ih_operand = precise::operand(w_ih);
    const Tensor w_hh_operand = precise::operand(w_hh);
    auto r = lstm_forward(x_operand, schedule, h0, c0, {w_ih_operand, w_hh_operand, b_ih, b_hh});
    ctx->save_for_backward({x_operand, h0, w_ih_operand, w_hh_operand, r.gates, r.tanh_c, r.h_prev, r.c_prev});
    ctx->saved_data["batch_sizes"] = schedule.batch_sizes;
    ctx->saved_data["reverse"] = schedule.reverse;
    ctx->saved_data["precision"] = static_cast<int64_t>(current_precision());
    return {r.outputs, r.h, r.c};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &h0 = saved[1], &w_ih = saved[2], &w_hh = saved[3];  // x, W as operands
    const Tensor &gates = saved[4], &tanh_c = saved[5], &h_prevs = saved[6], &c_prevs = saved[7];
    const StepSchedule schedule{ctx->saved_data["batch_sizes"].toIntVector(), ctx->saved_data["reverse"].toBool()};
    const PrecisionScope precision(static_cast<Precision>(ctx->saved_data["precision"].toInt()));
    const int64_t hidden = h0.size(1);
    Tensor dh_state = dense_state_gradient(grads[1], h0), dc_state = dense_state_gradient(grads[2], h0);
    Tensor d_gates = torch::empty_like(gates);  // pre-activation gate gradients
    // In bf16 the kernel also writes them as the operand of the products that follow.
    const bool bf16 = current_precision() == Precision::bf16;
    const precise::RepeatedOperand w_hh_steps(w_hh, schedule.batch_sizes.size());  // in every step's product
    const Tensor d_gates16 = bf16 ? torch::empty(gates.sizes(), gates.options().dtype(torch::kBFloat16)) : Tensor();
    const float *dh = dh_state.data_ptr<float>(), *gate_data = gates.data_ptr<float>(),
                *tanh_c_data = tanh_c.data_ptr<float>(), *c_prev_data = c_prevs.data_ptr<float>();
    float *dc = dc_state.data_ptr<float>(), *dg = d_gates.data_ptr<float>();
    const Tensor d_gates_multiplied = bf16 ? d_gates16 : d_gates;  // the operand of the products below
    uint16_t* dg16 = bf16 ? bf16_data(d_gates16) : nullptr;
    for_each_step_backward(schedule, dh_state, grads[0], [&](int64_t offset, int64_t rows) {
      const int64_t gate = offset * 4 * hidden, state = offset * hidden;
      at::parallel_for(0, rows, rows_per_task(hidden), [&](int64_t first, int64_t last) {
        if (bf16)
          lstm_step_backward_bf16(first, last, hidden, dh, dc, gate_data + gate, tanh_c_data + state,
                                  c_prev_data + state, dg + gate, dg16 + gate);
        else
          lstm_step_backward(first, last, hidden, dh, dc, gate_data + gate, tanh_c_data + state, c_prev_data + state,
                             dg + gate);
      });
      Tensor previous = dh_state.narrow(0, 0, rows);
      w_hh_steps.multiply(previous, d_gates_multiplied.narrow(0, offset, rows), false);
    });
    const Tensor d_bias = d_gates.sum(0);
    const Tensor d_gates_operand = precise::operand(d_gates_multiplied);
    return {precise::mm(d_gates_operand, w_ih),
            dh_state,
            dc_state,
            precise::mm(d_gates_operand.t(), x),
            precise::mm(d_gates_operand.t(), h_prevs),
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
