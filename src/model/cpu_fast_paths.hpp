// The switches between nmt's CPU kernels and the device-generic LibTorch ops that other devices take.
#pragma once

namespace nmt {

// The CPU kernels (fused recurrent layers, cross-entropy rows, FusedAdam's update, Philox
// dropout) run on CPU floats unless NMT_CPU_FAST_PATHS=0 is in the environment or this switch is
// off; then the CPU takes the same LibTorch ops as CUDA, which is how tests hold those ops to the
// kernels without a GPU.
bool cpu_fast_paths_enabled();
void set_cpu_fast_paths_enabled(bool enabled);

// The fused recurrent layers alone (model/fused_recurrent.hpp): on by default for LSTMs and GRUs
// on the CPU, packed or not; NMT_FUSED_RNN=0, or this switch (tests, benchmarks), turns them off.
bool fused_recurrent_enabled();
void set_fused_recurrent_enabled(bool enabled);

}  // namespace nmt
