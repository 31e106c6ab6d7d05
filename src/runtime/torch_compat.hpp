// What differs between the LibTorch builds nmt builds on (Debian's 1.13, 2.x, CPU or CUDA), in one place.
#pragma once
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

}  // namespace nmt
