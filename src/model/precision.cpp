#include "model/precision.hpp"

#include <cpuid.h>

#include <stdexcept>

#include "model/int8_weights.hpp"

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
  return (features.eax1 & (1u << 5)) || (features.edx0 & (1u << 22));  // AVX512_BF16, AMX-BF16
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

namespace precise {

torch::Tensor operand(const torch::Tensor& t) { return narrowed() ? t.to(product_type(this_thread_precision)) : t; }

torch::Tensor mm(const torch::Tensor& a, const torch::Tensor& b) {
  return narrowed() ? as_float(torch::mm(operand(a), operand(b))) : torch::mm(a, b);
}

torch::Tensor bmm(const torch::Tensor& a, const torch::Tensor& b) {
  return narrowed() ? as_float(torch::bmm(operand(a), operand(b))) : torch::bmm(a, b);
}

torch::Tensor addmm(const torch::Tensor& bias, const torch::Tensor& a, const torch::Tensor& b) {
  return narrowed() ? torch::add(bias, torch::mm(operand(a), operand(b))) : torch::addmm(bias, a, b);
}

void add_mm_(torch::Tensor& self, const torch::Tensor& a, const torch::Tensor& b) {
  if (narrowed())
    self.add_(torch::mm(operand(a), operand(b)));
  else
    self.addmm_(a, b);
}

void mm_out(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b) {
  if (narrowed())
    out.copy_(torch::mm(operand(a), operand(b)));
  else
    torch::mm_out(out, a, b);
}

void addmm_out(torch::Tensor& out, const torch::Tensor& input, const torch::Tensor& a, const torch::Tensor& b) {
  if (narrowed())
    torch::add_out(out, input, torch::mm(operand(a), operand(b)));
  else
    torch::addmm_out(out, input, a, b);
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (const Int8Matrix* int8 = int8_matrix(weight, bias)) return int8->linear(x);
  if (!narrowed()) return torch::nn::functional::linear(x, weight, bias);
  const auto product = torch::nn::functional::linear(operand(x), operand(weight));
  return bias.defined() ? torch::add(bias, product) : as_float(product);
}

}  // namespace precise
}  // namespace nmt
