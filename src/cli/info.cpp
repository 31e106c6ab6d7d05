#include <chrono>
#include <iostream>

#include <torch/torch.h>

#include "cli/commands.hpp"
#include "distributed/process_group.hpp"
#include "model/int8_weights.hpp"
#include "model/precision.hpp"
#include "report/tensorboard_events.hpp"
#include "runtime/environment.hpp"
#include "runtime/torch_compat.hpp"

namespace nmt {
namespace {
// Multiplies 512x512 float matrices for about a second and reports the rate.
double gemm_gflops() {
  torch::NoGradGuard no_grad;
  const int64_t n = 512;
  auto a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::empty({n, n});
  torch::mm_out(c, a, b);  // warm-up
  int64_t runs = 0;
  const auto start = std::chrono::steady_clock::now();
  double seconds = 0;
  while (seconds < 1.0) {
    torch::mm_out(c, a, b);
    ++runs;
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return 2.0 * n * n * n * runs / seconds / 1e9;
}
// LibTorch's quantized engines, and the one int8 decoding takes.
std::string int8_engine_list() {
  const auto engines = int8_engines();
  if (engines.empty()) return "none (int8 decoding is unavailable)";
  std::string list;
  for (const auto& engine : engines) list += (list.empty() ? "" : ", ") + engine;
  try {
    const std::string engine = int8_engine();
    return list + "; int8 decoding uses " + engine +
           (int8_operand_in_7_bits(engine) ? " (no VNNI here: one operand in 7 bits)" : "");
  } catch (const std::exception& error) {
    return list + "; " + error.what();
  }
}

}  // namespace

void setup_info(CLI::App& app, GlobalOptions& globals) {
  auto* command = app.add_subcommand("info", "versions, BLAS and its core, threads, allocator, CUDA, and a GEMM speed probe");
  command->callback([&globals] {
    configure_threads(globals.threads);
    const BlasInfo blas = detect_blas();
    std::cout << "nmt:            " << NMT_VERSION << "\n"
              << "torch:          " << TORCH_VERSION << "\n"
              << "threads:        " << torch::get_num_threads() << "\n"
              << "BLAS:           " << blas.library << (blas.core.empty() ? "" : " core " + blas.core) << "\n"
              << "BLAS config:    " << blas.config << "\n"
              << "CPU best core:  " << preferred_openblas_core() << "\n"
              << "allocator:      " << memory_allocator() << "\n"
              << "OMP_WAIT_POLICY " << (std::getenv("OMP_WAIT_POLICY") ? std::getenv("OMP_WAIT_POLICY") : "(unset)")
              << "\n"
              << "native bf16:    " << (cpu_has_native_bf16() ? "yes (AVX512_BF16 or AMX)" : "no (bf16 is emulated)")
              << "; precision auto picks " << precision_name(resolve_precision("auto", torch::kCPU, "precision")) << "\n"
              << "int8 engines:   " << int8_engine_list() << "\n"
              << "CUDA:           " << cuda_state() << "\n"
              << "distributed:    "
              << (distributed_backends().empty() ? "not built in (one process only; needs libgloo-dev)"
                                                 : "c10d, backends " + distributed_backends())
              << "\n"
              << "TensorBoard:    "
              << (tensorboard_available() ? "event files (training.tensorboard)"
                                          : "not built in (needs libprotobuf-c-dev, protobuf-c-compiler, libboost-dev)")
              << "\n";
    std::cout << "GEMM 512^3:     " << gemm_gflops() << " GFLOP/s\n";
  });
}

}  // namespace nmt
