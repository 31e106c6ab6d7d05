// Int8 copies of a model's matrices for decoding, and the thread scope that makes its products use them.
// Each row of a weight is quantized to int8 with its own scale (symmetric, zero point 0), once and
// deterministically, and prepacked for an int8 engine: oneDNN called directly (onednn-direct), or
// LibTorch's quantized dynamic linear on one of its engines. Each quantizes the fp32 activations per
// call, multiplies in int8 with exact int32 accumulation and returns fp32. The activations'
// quantization never depends on the other rows of a call, so a sentence's products never depend on
// its batch. Training never sees any of it: checkpoints and parameters stay fp32.
#pragma once
#include <ATen/native/quantized/PackedParams.h>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace nmt {

class OnednnInt8Matmul;

// The int8 engines this nmt has, in its order of preference: onednn-direct (where nmt was built with
// oneDNN), then LibTorch's fbgemm, x86, onednn, qnnpack.
std::vector<std::string> int8_engines();
// NMT_INT8_ENGINE if set (it must be one of int8_engines()), else the first of them; throws when
// there is none.
std::string int8_engine();

// Whether one operand of `engine`'s products keeps 7 bits on this CPU: where its kernels have no
// VNNI they add pairs of 8-bit products in saturating 16 bits. The activations on LibTorch's fbgemm,
// x86 and onednn (reduce_range), the weights on onednn-direct (onednn_int8_weight_limit); never on
// qnnpack, whose sums do not saturate.
bool int8_operand_in_7_bits(const std::string& engine);

// What a product's input rows are known to hold. Within [-1, 1] (tanh outputs, recurrent states and
// averages of them) one fixed range serves every row; anything else (embeddings) gets a scale per row.
enum class Int8Input { bounded, any };

class Int8Matrix {
 public:
  // weight (out, in) and bias (out, or undefined), fp32 on the CPU.
  Int8Matrix(const torch::Tensor& weight, const torch::Tensor& bias, const std::string& engine,
             Int8Input input = Int8Input::any);
  // x (..., in) fp32 -> x @ weight^T + bias, fp32 (..., out).
  torch::Tensor linear(const torch::Tensor& x) const;
  int64_t bytes() const { return bytes_; }

 private:
  float activation_levels() const { return reduce_range_ ? 63.0f : 127.0f; }
  torch::Tensor linear_direct(const torch::Tensor& rows) const;
  torch::Tensor linear_libtorch(const torch::Tensor& rows) const;
  std::shared_ptr<const OnednnInt8Matmul> direct_;   // onednn-direct, or
  c10::intrusive_ptr<LinearPackedParamsBase> packed_;  // one of LibTorch's engines
  // Added after the product: onednn's fused bias rounds differently for a row alone than in a batch.
  torch::Tensor bias_;
  torch::Tensor span_row_;  // LibTorch's engines: (1, in), +1 and -1, the fixed range every call's input spans
  Int8Input input_;
  // Activations in 7 bits (int8_operand_in_7_bits) on LibTorch's engines.
  bool reduce_range_;
  int64_t out_features_, bytes_;
};

// A model's int8 matrices, found by the fp32 weight they copy.
class Int8Weights {
 public:
  explicit Int8Weights(std::string engine = int8_engine()) : engine_(std::move(engine)) {}
  // Quantizes `weight` (with `bias`, the bias its products add) unless it is already here.
  void add(const torch::Tensor& weight, const torch::Tensor& bias = {}, Int8Input input = Int8Input::any);
  // The int8 copy of `weight`, or null. Throws if `bias` is not the one it was added with, which
  // its products would silently add instead.
  const Int8Matrix* find(const torch::Tensor& weight, const torch::Tensor& bias) const;
  // Takes in another model's matrices (an ensemble decodes with one table).
  void merge(const Int8Weights& other);
  // Calls visit(weight, bias, int8) for every matrix.
  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (const auto& entry : entries_) visit(entry.second.weight, entry.second.bias, *entry.second.matrix);
  }
  const std::string& engine() const { return engine_; }
  size_t size() const { return entries_.size(); }
  int64_t bytes() const;

 private:
  struct Entry {
    torch::Tensor weight, bias;  // kept alive, so no other tensor can take their address
    std::shared_ptr<const Int8Matrix> matrix;
  };
  std::string engine_;
  std::unordered_map<const c10::TensorImpl*, Entry> entries_;
};

// Installs `weights` for this thread's products for its lifetime (null: none), restoring the previous after.
class Int8Scope {
 public:
  explicit Int8Scope(const Int8Weights* weights);
  ~Int8Scope();
  Int8Scope(const Int8Scope&) = delete;
  Int8Scope& operator=(const Int8Scope&) = delete;

 private:
  const Int8Weights* previous_;
};

// This thread's int8 weights, or null outside an Int8Scope.
const Int8Weights* current_int8_weights();
// The int8 copy of `weight` in this thread's scope, or null (no scope, or a matrix not quantized).
const Int8Matrix* int8_matrix(const torch::Tensor& weight, const torch::Tensor& bias);

}  // namespace nmt
