#include "runtime/environment.hpp"

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include <torch/torch.h>

namespace nmt {
namespace {

template <typename Fn>
Fn find_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

bool is_generic_core(const std::string& core) {
  return core == "Prescott" || core == "Core2" || core == "Nehalem" || core == "Penryn" || core == "Dunnington" ||
         core == "Atom" || core == "Katmai" || core == "Coppermine" || core == "Northwood" || core == "Banias" ||
         core == "generic";
}

}  // namespace

std::string preferred_openblas_core() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
  if (__builtin_cpu_supports("avx2")) return "Haswell";
  return "";
}

BlasInfo detect_blas() {
  BlasInfo info;
  auto corename = find_symbol<char* (*)()>("openblas_get_corename");
  if (!corename) {
    // PyPI's LibTorch carries MKL inside; a system LibTorch without OpenBLAS has the reference BLAS.
    info.library = at::hasMKL() ? "MKL (inside LibTorch)"
                                : "unknown (not OpenBLAS: reference BLAS is ~100x slower, run scripts/install-deps.sh)";
    return info;
  }
  info.library = "OpenBLAS";
  info.core = corename();
  if (auto config = find_symbol<char* (*)()>("openblas_get_config")) info.config = config();
  if (auto threads = find_symbol<int (*)()>("openblas_get_num_threads")) info.threads = threads();
  return info;
}

void tune_process_environment(char** argv) {
  if (std::getenv("NMT_REEXECUTED")) {
    unsetenv("NMT_REEXECUTED");  // so that processes we start get tuned themselves
    return;
  }
  if (std::getenv("NMT_NO_BLAS_FIX")) return;
  const BlasInfo blas = detect_blas();
  const std::string preferred = preferred_openblas_core();
  if (blas.library != "OpenBLAS" || std::getenv("OPENBLAS_CORETYPE") || !is_generic_core(blas.core) ||
      preferred.empty())
    return;
  setenv("OPENBLAS_CORETYPE", preferred.c_str(), 1);
  setenv("NMT_BLAS_FIXED_FROM", blas.core.c_str(), 1);
  setenv("NMT_REEXECUTED", "1", 1);
  execv("/proc/self/exe", argv);
  // execv only returns on failure: carry on with the environment as it was.
}

std::string memory_allocator() {
  if (find_symbol<void* (*)(size_t)>("tc_malloc")) return "tcmalloc";
#if defined(__SANITIZE_ADDRESS__)
  return "AddressSanitizer";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return "AddressSanitizer";
#endif
#endif
  return "glibc";
}

bool keep_freed_memory_in_heap() {
  if (memory_allocator() != "glibc") return false;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, "glibc.malloc.")) return false;
  constexpr int kMiB = 1 << 20;
  // 32 MiB is glibc's largest mmap threshold; trimming and padding are sized so that a step's
  // working set stays mapped from one step to the next.
  return mallopt(M_MMAP_THRESHOLD, 32 * kMiB) == 1 && mallopt(M_TRIM_THRESHOLD, 1024 * kMiB) == 1 &&
         mallopt(M_TOP_PAD, 64 * kMiB) == 1;
}

bool switch_from_environment(const char* name) {
  const char* value = std::getenv(name);
  return !(value && std::strcmp(value, "0") == 0);
}

int configure_threads(int requested) {
  // All cores by default: measured fastest for nmt (docs/PERFORMANCE.md), with GOMP's default
  // wait policy. OMP_WAIT_POLICY=PASSIVE made 2 threads 2.5x slower here, so it is left alone.
  // Several processes per machine (torchrun, nmt's launcher) share the cores: OMP_NUM_THREADS
  // when set, as PyTorch reads it, else an equal share per LOCAL_WORLD_SIZE.
  int threads = requested;
  if (threads <= 0)
    if (const char* omp = std::getenv("OMP_NUM_THREADS")) threads = std::atoi(omp);
  if (threads <= 0) {
    const char* local_world = std::getenv("LOCAL_WORLD_SIZE");
    const int processes = local_world ? std::max(1, std::atoi(local_world)) : 1;
    threads = std::max(1, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) / processes);
  }
  torch::set_num_threads(threads);
  return threads;
}

std::string startup_line() {
  const BlasInfo blas = detect_blas();
  std::string line = std::string("nmt ") + NMT_VERSION + ", torch " + TORCH_VERSION + ", threads " +
                     std::to_string(torch::get_num_threads()) + ", BLAS " + blas.library;
  if (!blas.core.empty()) line += " core " + blas.core + " (" + std::to_string(blas.threads) + " threads)";
  if (const char* from = std::getenv("NMT_BLAS_FIXED_FROM"))
    line += std::string(", BLAS core fixed from ") + from + " via OPENBLAS_CORETYPE (NMT_NO_BLAS_FIX=1 disables)";
  if (const char* wait = std::getenv("OMP_WAIT_POLICY")) line += std::string(", OMP_WAIT_POLICY=") + wait;
  return line;
}

}  // namespace nmt
