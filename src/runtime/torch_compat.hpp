// What differs between the LibTorch builds nmt builds on (Debian's 1.13, 2.x, CPU or CUDA), in one place.
#pragma once
#include <ATen/autocast_mode.h>
#include <dlfcn.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <string>

#define NMT_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace nmt {

// torch::optim keeps each parameter's state under a string of its TensorImpl's address in 1.13,
// and under the address itself from 2.2 on.
#if NMT_TORCH_AT_LEAST(2, 2)
inline void* optimizer_state_key(const torch::Tensor& parameter) { return parameter.unsafeGetTensorImpl(); }
#else
inline std::string optimizer_state_key(const torch::Tensor& parameter) {
  return c10::guts::to_string(parameter.unsafeGetTensorImpl());
}
#endif

// Whether the _amp_* ops of loss scaling have CPU kernels (they came in 2.3; CUDA has them always).
constexpr bool amp_ops_on_cpu() { return NMT_TORCH_AT_LEAST(2, 3); }

// Whether this LibTorch was built with CUDA: its libtorch.so then loads libtorch_cuda.so. A CUDA
// build on a machine without a GPU runs on the CPU.
inline bool torch_has_cuda() {
  void* cuda = dlopen("libtorch_cuda.so", RTLD_LAZY | RTLD_NOLOAD);
  if (cuda) dlclose(cuda);
  return cuda != nullptr;
}

// "available", or why not, for `nmt info` and the errors of `device: cuda`.
inline std::string cuda_state() {
  if (torch::cuda::is_available()) return "available";
  return torch_has_cuda() ? "not available (this LibTorch has CUDA, but no GPU is visible)"
                          : "not available (this LibTorch is CPU-only; build against a CUDA LibTorch)";
}

// LibTorch's autocast on one device type (CPU or CUDA) for the scope's lifetime, as Python's
// torch.autocast does it; C++ has no guard of its own, and the setters were renamed in 2.4.
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device, c10::ScalarType type)
      : device_(device), was_enabled_(enabled(device)), previous_type_(type_of(device)) {
    set(device, true, type);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set(device_, was_enabled_, previous_type_);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

  static bool enabled(c10::DeviceType device) {
#if NMT_TORCH_AT_LEAST(2, 4)
    return at::autocast::is_autocast_enabled(device);
#else
    return device == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
  }
  static c10::ScalarType type_of(c10::DeviceType device) {
#if NMT_TORCH_AT_LEAST(2, 4)
    return at::autocast::get_autocast_dtype(device);
#else
    return device == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype()
                                          : at::autocast::get_autocast_gpu_dtype();
#endif
  }

 private:
  static void set(c10::DeviceType device, bool on, c10::ScalarType type) {
    TORCH_CHECK(device == c10::DeviceType::CPU || device == c10::DeviceType::CUDA, "autocast on ", device,
                ": nmt sets it on the CPU and CUDA only");
#if NMT_TORCH_AT_LEAST(2, 4)
    at::autocast::set_autocast_enabled(device, on);
    at::autocast::set_autocast_dtype(device, type);
#else
    if (device == c10::DeviceType::CPU) {
      at::autocast::set_cpu_enabled(on);
      at::autocast::set_autocast_cpu_dtype(type);
    } else {
      at::autocast::set_enabled(on);
      at::autocast::set_autocast_gpu_dtype(type);
    }
#endif
  }
  c10::DeviceType device_;
  bool was_enabled_;
  c10::ScalarType previous_type_;
};

}  // namespace nmt
