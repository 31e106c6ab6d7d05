// LibTorch's c10d store and Gloo group, where this build has them: NMT_C10D is defined then.
// Gloo's own headers come from libgloo-dev; without them nmt trains on one process.
#pragma once
#if defined(NMT_WITH_GLOO) && defined(USE_C10D_GLOO)
#define NMT_C10D 1
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include "runtime/torch_compat.hpp"
namespace nmt {
// What a Gloo or NCCL group is held as: 2.0 split c10d::Backend off c10d::ProcessGroup.
#if NMT_TORCH_AT_LEAST(2, 0)
using CollectiveBackend = c10d::Backend;
#else
using CollectiveBackend = c10d::ProcessGroup;
#endif
}  // namespace nmt
#endif
