#include "model/precision.hpp"

#include <cpuid.h>

#include <stdexcept>

namespace nmt {
namespace {

thread_local Precision this_thread_precision = Precision::fp32;

bool in_bf16() { return this_thread_precision == Precision::bf16; }

torch::Tensor as_float(const torch::Tensor& product) { return product.to(torch::kFloat); }

}  // namespace

Precision precision_from_name(const std::string& name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "bf16") return Precision::bf16;
  throw std::invalid_argument("unknown precision '" + name + "' (fp32 | bf16)");
}

bool cpu_has_native_bf16() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool amx_bf16 = edx & (1u << 22);
  const unsigned max_subleaf = eax;
  bool avx512_bf16 = false;
  if (max_subleaf >= 1 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) avx512_bf16 = eax & (1u << 5);
  return avx512_bf16 || amx_bf16;
}

Precision resolve_precision(const std::string& setting) {
  if (setting == "auto") return cpu_has_native_bf16() ? Precision::bf16 : Precision::fp32;
  return precision_from_name(setting);
}

const char* precision_name(Precision precision) { return precision == Precision::bf16 ? "bf16" : "fp32"; }

Precision current_precision() { return this_thread_precision; }

PrecisionScope::PrecisionScope(Precision precision) : previous_(this_thread_precision) {
  this_thread_precision = precision;
}

PrecisionScope::~PrecisionScope() { this_thread_precision = previous_; }

namespace precise {

torch::Tensor operand(const torch::Tensor& t) { return in_bf16() ? t.to(torch::kBFloat16) : t; }

torch::Tensor mm(const torch::Tensor& a, const torch::Tensor& b) {
  return in_bf16() ? as_float(torch::mm(operand(a), operand(b))) : torch::mm(a, b);
}

torch::Tensor bmm(const torch::Tensor& a, const torch::Tensor& b) {
  return in_bf16() ? as_float(torch::bmm(operand(a), operand(b))) : torch::bmm(a, b);
}

torch::Tensor addmm(const torch::Tensor& bias, const torch::Tensor& a, const torch::Tensor& b) {
  return in_bf16() ? torch::add(bias, torch::mm(operand(a), operand(b))) : torch::addmm(bias, a, b);
}

void add_mm_(torch::Tensor& self, const torch::Tensor& a, const torch::Tensor& b) {
  if (in_bf16())
    self.add_(torch::mm(operand(a), operand(b)));
  else
    self.addmm_(a, b);
}

void mm_out(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b) {
  if (in_bf16())
    out.copy_(torch::mm(operand(a), operand(b)));
  else
    torch::mm_out(out, a, b);
}

void addmm_out(torch::Tensor& out, const torch::Tensor& input, const torch::Tensor& a, const torch::Tensor& b) {
  if (in_bf16())
    torch::add_out(out, input, torch::mm(operand(a), operand(b)));
  else
    torch::addmm_out(out, input, a, b);
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (!in_bf16()) return torch::nn::functional::linear(x, weight, bias);
  const auto product = torch::nn::functional::linear(operand(x), operand(weight));
  return bias.defined() ? torch::add(bias, product) : as_float(product);
}

}  // namespace precise
}  // namespace nmt
