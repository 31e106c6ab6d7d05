// The training loss over the output layer; in bf16 on the CPU, one autograd node: products in bf16, loss rows in fp32.
#include "scoring/output_cross_entropy.hpp"

#include <ATen/Parallel.h>

#include "data/special_tokens.hpp"
#include "model/cpu_fast_paths.hpp"
#include "model/precision.hpp"
#include "scoring/cross_entropy.hpp"
#include "scoring/cross_entropy_kernels.hpp"

namespace nmt {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kRowsPerTask = 16;

class Bf16OutputCrossEntropy : public torch::autograd::Function<Bf16OutputCrossEntropy> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& features, const Tensor& weight, const Tensor& bias,
                        const Tensor& targets_in, double smoothing) {
    const Tensor x = features.to(torch::kBFloat16).contiguous(), w = weight.to(torch::kBFloat16);
    const Tensor product = precise::bf16_mm(x, w.t()).contiguous();  // (N, V) bf16, summed in fp32
    const Tensor targets = targets_in.contiguous(), bias_row = bias.contiguous();
    const int64_t rows = product.size(0), vocab = product.size(1);
    check_targets_in_vocabulary(targets, vocab, "output_cross_entropy_sum");
    Tensor top = torch::empty({rows}, bias.options()), inv_sum = torch::empty({rows}, bias.options());
    std::vector<float> row_loss(static_cast<size_t>(rows));
    at::parallel_for(0, rows, kRowsPerTask, [&](int64_t first, int64_t last) {
      cross_entropy_forward_bf16(first, last, vocab, bf16_data(product), bias_row.data_ptr<float>(),
                                 targets.data_ptr<int64_t>(), kPad, static_cast<float>(smoothing),
                                 top.data_ptr<float>(), inv_sum.data_ptr<float>(), row_loss.data());
    });
    double loss = 0;  // in row order: the same sum on any thread count
    for (const float value : row_loss) loss += value;
    ctx->save_for_backward({x, w, product, bias_row, top, inv_sum, targets});
    ctx->saved_data["smoothing"] = smoothing;
    return torch::tensor(static_cast<float>(loss), bias.options());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &w = saved[1], &product = saved[2], &bias = saved[3], &top = saved[4],
                 &inv_sum = saved[5], &targets = saved[6];
    const auto smoothing = static_cast<float>(ctx->saved_data["smoothing"].toDouble());
    const auto scale = grads[0].item<float>();
    const int64_t rows = product.size(0), vocab = product.size(1);
    const int64_t tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
    Tensor grad = torch::empty_like(product);
    // One bias-gradient row per task, added up in task order: the same sum on any thread count.
    Tensor bias_partials = torch::zeros({std::max<int64_t>(tasks, 1), vocab}, bias.options());
    uint16_t* grad_bits = bf16_data(grad);
    float* partials = bias_partials.data_ptr<float>();
    at::parallel_for(0, tasks, 1, [&](int64_t first_task, int64_t last_task) {
      for (int64_t task = first_task; task < last_task; ++task) {
        const int64_t first = task * kRowsPerTask, last = std::min(rows, first + kRowsPerTask);
        cross_entropy_backward_bf16(first, last, vocab, bf16_data(product), bias.data_ptr<float>(),
                                    top.data_ptr<float>(), inv_sum.data_ptr<float>(), targets.data_ptr<int64_t>(),
                                    kPad, smoothing, scale, grad_bits, partials + task * vocab);
      }
    });
    Tensor bias_grad = bias_partials[0].clone();
    for (int64_t task = 1; task < tasks; ++task) bias_grad.add_(bias_partials[task]);
    const PrecisionScope bf16(Precision::bf16);  // the backward pass may run on another thread
    return {precise::mm(grad, w), precise::mm(grad.t(), x), bias_grad, Tensor(), Tensor()};
  }
};

}  // namespace

torch::Tensor output_cross_entropy_sum(const Readout& readout, const torch::Tensor& targets, double label_smoothing) {
  const auto& [features, weight, bias] = readout;
  if (current_precision() == Precision::bf16 && features.device().is_cpu() && bias.defined() &&
      features.scalar_type() == torch::kFloat && cpu_fast_paths_enabled())
    return Bf16OutputCrossEntropy::apply(features, weight, bias, targets, label_smoothing);
  return cross_entropy_sum(precise::linear(features, weight, bias), targets, label_smoothing);
}

}  // namespace nmt
