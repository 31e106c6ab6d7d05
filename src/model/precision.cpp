// Products in the thread's precision, and what the CPU multiplies natively.
#include "model/precision.hpp"

#include <cpuid.h>

#include <stdexcept>

#include "model/cpu_fast_paths.hpp"
#include "model/int8_weights.hpp"
#include "onednn_shim/bf16_matmul.hpp"
#include "onednn_shim/bf16_packed_matmul.hpp"

namespace nmt {
namespace {

thread_local Precision this_thread_precision = Precision::fp32;

// Whether products run in a floating-point type narrower than fp32.
bool narrowed() { return this_thread_precision == Precision::bf16 || this_thread_precision == Precision::fp16; }

torch::Tensor as_float(const torch::Tensor& product) { return product.to(torch::kFloat); }

// CPUID leaf 7: subleaf 0's ECX and EDX, subleaf 1's EAX (zeros where the CPU lacks them).
struct ExtendedFeatures {
  unsigned ecx0 = 0, edx0 = 0, eax1 = 0;
};

ExtendedFeatures extended_features() {
  ExtendedFeatures features;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return features;
  features.ecx0 = ecx;
  features.edx0 = edx;
  if (eax >= 1 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) features.eax1 = eax;
  return features;
}

}  // namespace

Precision precision_from_name(const std::string& name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "bf16") return Precision::bf16;
  if (name == "fp16") return Precision::fp16;
  if (name == "int8") return Precision::int8;
  throw std::invalid_argument("unknown precision '" + name + "' (fp32 | bf16 | fp16 | int8)");
}

bool cpu_has_native_bf16() {
  const auto features = extended_features();
  const bool hardware = (features.eax1 & (1u << 5)) || (features.edx0 & (1u << 22));  // AVX512_BF16, AMX-BF16
  return hardware && library_bf16_products_sum_in_fp32();
}

bool cpu_has_vnni() {
  const auto features = extended_features();
  return (features.ecx0 & (1u << 11)) || (features.eax1 & (1u << 4));  // AVX512_VNNI, AVX-VNNI
}

Precision resolve_precision(const std::string& setting, const torch::Device& device, const std::string& key) {
  if (setting == "auto") return device.is_cpu() && cpu_has_native_bf16() ? Precision::bf16 : Precision::fp32;
  const Precision precision = precision_from_name(setting);
  if (precision == Precision::fp16 && device.is_cpu())
    throw std::invalid_argument(key + " fp16 runs on CUDA only: on the CPU it has no fast kernels and would need loss "
                                "scaling; use bf16 (" + std::string(cpu_has_native_bf16() ? "native on this CPU" :
                                "emulated on this CPU, slower than fp32") + ") or fp32");
  if (precision == Precision::int8 && !device.is_cpu())
    throw std::invalid_argument(key + " int8 runs on the CPU only (its kernels are CPU kernels); on " +
                                device.str() + " use bf16 or fp16");
  return precision;
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::bf16: return "bf16";
    case Precision::fp16: return "fp16";
    case Precision::int8: return "int8";
    default: return "fp32";
  }
}

torch::ScalarType product_type(Precision precision) {
  switch (precision) {
    case Precision::bf16: return torch::kBFloat16;
    case Precision::fp16: return torch::kHalf;
    default: return torch::kFloat;
  }
}

Precision current_precision() { return this_thread_precision; }

PrecisionScope::PrecisionScope(Precision precision) : previous_(this_thread_precision) {
  this_thread_precision = precision;
}

PrecisionScope::~PrecisionScope() { this_thread_precision = previous_; }

bool library_bf16_products_sum_in_fp32() {
  // Sums of 300 ones, in every transposition: a bf16 accumulator cannot reach them (it stops at 256).
  static const bool sums = [] {
    const torch::NoGradGuard no_grad;
    try {
      const auto ones = [](int64_t rows, int64_t columns) { return torch::ones({rows, columns}, torch::kBFloat16); };
      for (const auto& a : {ones(3, 300), ones(300, 3).t()})
        for (const auto& b : {ones(300, 5), ones(5, 300).t()})
          if (!torch::mm(a, b).eq(300).all().item<bool>()) return false;
      return torch::bmm(ones(3, 300).unsqueeze(0), ones(300, 5).unsqueeze(0)).eq(300).all().item<bool>();
    } catch (const std::exception&) {
      return false;
    }
  }();
  return sums;
}

namespace precise {
namespace {

// Whether this thread's products can take oneDNN directly (onednn_shim/bf16_matmul.hpp): fp32 sums
// of bf16 products without bf16 rounding or a conversion pass.
bool direct_route() {
  return this_thread_precision == Precision::bf16 && onednn_bf16_available() && cpu_fast_paths_enabled();
}

// Whether oneDNN can read `t` as a product's operand. Only outside autograd (the fused layers' own
// passes), since oneDNN records no graph.
bool direct_operand(const torch::Tensor& t) {
  return t.device().is_cpu() && t.dim() == 2 &&
         (t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kBFloat16) &&
         (!torch::GradMode::is_enabled() || !t.requires_grad());
}

bool direct(const torch::Tensor& a, const torch::Tensor& b) {
  return direct_route() && direct_operand(a) && direct_operand(b) && a.size(1) > 0 && a.size(1) == b.size(0);
}

// Whether `out` can take the product of `a` and `b` in place: fp32 rows of its size, each contiguous.
bool writable(const torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b) {
  return out.device().is_cpu() && out.dim() == 2 && out.scalar_type() == torch::kFloat &&
         out.size(0) == a.size(0) && out.size(1) == b.size(1) && (out.stride(1) == 1 || out.size(1) == 1);
}

// Whether `bias` can be oneDNN's bias row for a product with `columns` columns.
bool bias_row(const torch::Tensor& bias, int64_t columns) {
  return bias.device().is_cpu() && bias.dim() == 1 && bias.size(0) == columns && bias.scalar_type() == torch::kFloat;
}

// `t`'s bf16 copy (`t` itself when bf16) as a matrix oneDNN reads in place, row- or column-major;
// any other layout is first made contiguous. `keep` holds the tensor the matrix points into.
Bf16Matrix bf16_matrix(const torch::Tensor& t, torch::Tensor& keep) {
  keep = t.to(torch::kBFloat16);
  const int64_t rows = keep.size(0), columns = keep.size(1);
  int64_t row_stride = keep.stride(0), column_stride = keep.stride(1);
  if (rows == 1) row_stride = column_stride == 1 ? columns : 1;  // one row or column reads the same
  if (columns == 1) column_stride = row_stride == 1 ? rows : 1;  // elements at any stride across it
  if (!((column_stride == 1 && row_stride >= columns) || (row_stride == 1 && column_stride >= rows))) {
    keep = keep.contiguous();
    row_stride = columns;
    column_stride = 1;
  }
  return {bf16_data(keep), rows, columns, row_stride, column_stride};
}

// out = a @ b (+ bias) (+ out when accumulate), summed in fp32 by oneDNN.
void direct_product(const torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b,
                    const torch::Tensor& bias, bool accumulate) {
  torch::Tensor a16, b16;
  const Bf16Matrix left = bf16_matrix(a, a16), right = bf16_matrix(b, b16);
  const torch::Tensor bias_values = bias.defined() ? bias.contiguous() : torch::Tensor();
  bf16_matmul(left, right, out.data_ptr<float>(), out.size(0) == 1 ? out.size(1) : out.stride(0),
              bias_values.defined() ? bias_values.data_ptr<float>() : nullptr, accumulate, torch::get_num_threads());
}

torch::Tensor direct_product(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& bias = {}) {
  torch::Tensor out = torch::empty({a.size(0), b.size(1)}, a.options().dtype(torch::kFloat));
  direct_product(out, a, b, bias, false);
  return out;
}

// LibTorch's product `product(x, y)` of operands in the thread's narrowed type, or where its bf16
// products do not sum in fp32 here, the same product made by fp32 kernels from the operands' (bf16)
// values and rounded to bf16 as LibTorch's is: the numbers a CPU with bf16 gives, up to the order of
// the sums, and faster than LibTorch's bf16 fallback.
template <typename Product>
torch::Tensor narrowed_product(Product&& product, const torch::Tensor& x, const torch::Tensor& y) {
  if (x.scalar_type() != torch::kBFloat16 || !x.device().is_cpu() || library_bf16_products_sum_in_fp32())
    return product(x, y);
  return product(x.to(torch::kFloat), y.to(torch::kFloat)).to(torch::kBFloat16);
}

const auto matrix_product = [](const torch::Tensor& x, const torch::Tensor& y) { return torch::mm(x, y); };

// a @ b in the thread's narrowed type.
torch::Tensor narrowed_mm(const torch::Tensor& a, const torch::Tensor& b) {
  return narrowed_product(matrix_product, operand(a), operand(b));
}

}  // namespace

torch::Tensor operand(const torch::Tensor& t) { return narrowed() ? t.to(product_type(this_thread_precision)) : t; }

torch::Tensor mm(const torch::Tensor& a, const torch::Tensor& b) {
  if (direct(a, b)) return direct_product(a, b);
  return narrowed() ? as_float(narrowed_mm(a, b)) : torch::mm(a, b);
}

torch::Tensor bf16_mm(const torch::Tensor& a, const torch::Tensor& b) {
  return narrowed_product(matrix_product, a, b);
}

torch::Tensor bmm(const torch::Tensor& a, const torch::Tensor& b) {
  if (!narrowed()) return torch::bmm(a, b);
  return as_float(narrowed_product([](const torch::Tensor& x, const torch::Tensor& y) { return torch::bmm(x, y); },
                                   operand(a), operand(b)));
}

torch::Tensor addmm(const torch::Tensor& bias, const torch::Tensor& a, const torch::Tensor& b) {
  if (direct(a, b) && bias_row(bias, b.size(1)) && !(torch::GradMode::is_enabled() && bias.requires_grad()))
    return direct_product(a, b, bias);
  return narrowed() ? torch::add(bias, narrowed_mm(a, b)) : torch::addmm(bias, a, b);
}

void add_mm_(torch::Tensor& self, const torch::Tensor& a, const torch::Tensor& b) {
  if (direct(a, b) && writable(self, a, b))
    direct_product(self, a, b, {}, true);
  else if (narrowed())
    self.add_(narrowed_mm(a, b));
  else
    self.addmm_(a, b);
}

void mm_out(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b) {
  if (direct(a, b) && writable(out, a, b))
    direct_product(out, a, b, {}, false);
  else if (narrowed())
    out.copy_(narrowed_mm(a, b));
  else
    torch::mm_out(out, a, b);
}

void addmm_out(torch::Tensor& out, const torch::Tensor& input, const torch::Tensor& a, const torch::Tensor& b) {
  if (direct(a, b) && writable(out, a, b)) {
    out.copy_(input);
    direct_product(out, a, b, {}, true);
  } else if (narrowed()) {
    torch::add_out(out, input, narrowed_mm(a, b));
  } else {
    torch::addmm_out(out, input, a, b);
  }
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (const Int8Matrix* int8 = int8_matrix(weight, bias)) return int8->linear(x);
  if (!narrowed()) return torch::nn::functional::linear(x, weight, bias);
  const auto product = narrowed_product(
      [](const torch::Tensor& in, const torch::Tensor& w) { return torch::nn::functional::linear(in, w); },
      operand(x), operand(weight));
  return bias.defined() ? torch::add(bias, product) : as_float(product);
}

RepeatedOperand::RepeatedOperand(const torch::Tensor& b, int64_t products) : operand_(precise::operand(b)) {
  if (products < 2 || !direct_route() || !direct_operand(operand_) || operand_.numel() == 0) return;
  try {
    torch::Tensor keep;
    const Bf16Matrix matrix = bf16_matrix(operand_, keep);
    packed_ = std::make_unique<Bf16PackedMatrix>(matrix, torch::get_num_threads());
  } catch (const std::runtime_error&) {
    // oneDNN cannot pack it here: the plain products below stay correct.
  }
}

RepeatedOperand::~RepeatedOperand() = default;

bool RepeatedOperand::takes_packed(const torch::Tensor& out, const torch::Tensor& a) const {
  return packed_ && writable(out, a, operand_) && a.scalar_type() == torch::kBFloat16 && a.is_contiguous() &&
         packed_->rows() == a.size(1);
}

void RepeatedOperand::add_product(torch::Tensor& out, const torch::Tensor& input, const torch::Tensor& a) const {
  if (!takes_packed(out, a)) return precise::addmm_out(out, input, a, operand_);
  out.copy_(input);
  multiply(out, a, true);
}

void RepeatedOperand::multiply(torch::Tensor& out, const torch::Tensor& a, bool accumulate) const {
  if (takes_packed(out, a)) {
    const int64_t rows = a.size(0), inner = a.size(1);
    try {
      packed_->multiply({bf16_data(a), rows, inner, inner, 1}, out.data_ptr<float>(),
                        out.size(0) == 1 ? out.size(1) : out.stride(0), accumulate);
      return;
    } catch (const std::runtime_error&) {
      // oneDNN has no kernel for this shape: the plain product below computes the same.
    }
  }
  if (accumulate) {
    precise::add_mm_(out, a, operand_);
  } else {
    precise::mm_out(out, a, operand_);
  }
}

}  // namespace precise
}  // namespace nmt
