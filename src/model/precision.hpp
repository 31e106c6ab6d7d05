// The precision of the model's matrix products. In bf16 (or fp16, on CUDA) both operands are
// multiplied in that type (oneDNN and cuBLAS accumulate in fp32) and the product comes back as
// fp32, so the weights, the activations between products, the loss and the optimizer state all
// stay fp32, as autocast keeps them. int8 is for decoding on the CPU: products with a weight of the
// thread's Int8Scope (model/int8_weights.hpp) multiply in int8, the others in fp32. The precision
// belongs to a thread: training and decoding set it for their work.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

namespace nmt {

class Bf16PackedMatrix;

enum class Precision { fp32, bf16, fp16, int8 };

// "fp32", "bf16", "fp16" or "int8"; throws on anything else.
Precision precision_from_name(const std::string& name);
const char* precision_name(Precision precision);
// The type the operands of a product take: float, bfloat16 or half (float for int8's activations).
torch::ScalarType product_type(Precision precision);
// Whether the CPU multiplies bf16 in hardware (AVX512_BF16 or AMX-BF16) and LibTorch's bf16
// products run there (not with oneDNN capped below it); elsewhere bf16 products are emulated.
bool cpu_has_native_bf16();
// Whether LibTorch's own bf16 products on the CPU sum in fp32 in this process, as oneDNN's kernels
// (AVX-512) do. Where they do not (LibTorch 1.13 on an AVX2-only CPU sums some layouts in bf16;
// oneDNN capped below AVX-512 by ONEDNN_MAX_CPU_ISA has none), bf16 products are made by fp32
// kernels from the operands' bf16 values. Checked once.
bool library_bf16_products_sum_in_fp32();
// Whether the CPU has VNNI (AVX512_VNNI or AVX-VNNI): int8 dot products summed in 32 bits; without
// it, fbgemm's AVX2 kernels sum pairs in 16 bits, which saturate unless activations keep 7 bits.
bool cpu_has_vnni();
// A training.precision or decoding.precision setting (`key`, for errors) for products on
// `device`: "auto" is bf16 on a CPU that multiplies bf16 natively and fp32 elsewhere (on CUDA,
// name bf16 or fp16); fp16 has too few exponent bits to train without loss scaling and no fast
// CPU kernels, so it runs on CUDA only and is refused on the CPU; int8 (decoding only) runs on the
// CPU only.
Precision resolve_precision(const std::string& setting, const torch::Device& device, const std::string& key);

Precision current_precision();

// A bf16 tensor's elements as the raw bits kernels read and write (runtime/bf16_bits.hpp).
inline uint16_t* bf16_data(const torch::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>()); }

// Sets this thread's precision for its lifetime and restores the previous one after.
class PrecisionScope {
 public:
  explicit PrecisionScope(Precision precision);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  Precision previous_;
};

// The products in the current precision; autograd flows through them. In bf16 on the CPU, outside
// autograd (the fused layers' own passes), mm, addmm, add_mm_, mm_out and addmm_out take oneDNN
// directly where nmt was built with it: the sums of the bf16 products come back in fp32, not
// rounded to bf16 as LibTorch's bf16 products are. Where LibTorch's bf16 products do not sum in
// fp32 (LibTorch 1.13 on an AVX2-only CPU), every bf16 product is the fp32 product of the operands'
// bf16 values: the sums a CPU with bf16 makes, up to their order.
namespace precise {
// `t` as an operand of a product: its bf16 (fp16) copy in bf16 (fp16), `t` itself in fp32. Products accept
// converted operands, so a weight used in many products is converted once.
torch::Tensor operand(const torch::Tensor& t);
torch::Tensor mm(const torch::Tensor& a, const torch::Tensor& b);
// a @ b of two bf16 CPU matrices as a bf16 matrix: the fp32 sums of their products, rounded.
torch::Tensor bf16_mm(const torch::Tensor& a, const torch::Tensor& b);
torch::Tensor bmm(const torch::Tensor& a, const torch::Tensor& b);
// bias + a @ b
torch::Tensor addmm(const torch::Tensor& bias, const torch::Tensor& a, const torch::Tensor& b);
// self += a @ b (fp32 self)
void add_mm_(torch::Tensor& self, const torch::Tensor& a, const torch::Tensor& b);
// out = a @ b (fp32 out)
void mm_out(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b);
// out = input + a @ b (fp32 out and input)
void addmm_out(torch::Tensor& out, const torch::Tensor& input, const torch::Tensor& a, const torch::Tensor& b);
// torch::nn::functional::linear: x @ weight^T + bias (bias may be undefined); in int8 where the
// thread's Int8Scope holds `weight`.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});

// A right-hand operand of `products` products in a row (a recurrent layer's W_hh, once per step). In
// bf16 through oneDNN, and for more than one product, it is reordered once into the layout oneDNN's
// kernels read, which every product of a plain matrix does again (so for one product packing gains
// nothing); elsewhere its products are mm_out's and add_mm_'s.
class RepeatedOperand {
 public:
  RepeatedOperand(const torch::Tensor& b, int64_t products);  // b (K, N), converted by operand() once
  ~RepeatedOperand();
  RepeatedOperand(const RepeatedOperand&) = delete;
  RepeatedOperand& operator=(const RepeatedOperand&) = delete;
  // Whether the products take the reordered matrix: bf16 products with fp32 sums.
  bool packed() const { return packed_ != nullptr; }
  const torch::Tensor& operand() const { return operand_; }
  // out = a @ b, or out += a @ b when accumulate (fp32 out)
  void multiply(torch::Tensor& out, const torch::Tensor& a, bool accumulate) const;
  // out = input + a @ b (fp32 out and input), as addmm_out
  void add_product(torch::Tensor& out, const torch::Tensor& input, const torch::Tensor& a) const;

 private:
  // Whether the product of `a` into `out` can read the packed matrix.
  bool takes_packed(const torch::Tensor& out, const torch::Tensor& a) const;

  torch::Tensor operand_;
  std::unique_ptr<Bf16PackedMatrix> packed_;
};
}  // namespace precise

}  // namespace nmt
