// What differs between the LibTorch lines nmt builds on, Debian's 1.13 and 2.x, kept in one place.
#pragma once
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

}  // namespace nmt
