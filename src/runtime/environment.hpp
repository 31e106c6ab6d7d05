// Process-level speed settings: BLAS kernel and thread count.
#pragma once
#include <string>

namespace nmt {

// Called first thing in main. OpenBLAS reads OPENBLAS_CORETYPE only when it loads, so when it
// runs a generic kernel (e.g. "Prescott") on an AVX2/AVX-512 CPU, the process re-executes itself
// once with the right core set. NMT_NO_BLAS_FIX=1 turns this off.
void tune_process_environment(char** argv);

// The allocator that serves this process's malloc: "tcmalloc" where nmt is linked with gperftools'
// tcmalloc (CMake links it when found, outside sanitizer builds), "AddressSanitizer" in the
// sanitizer builds, else "glibc".
std::string memory_allocator();

// Each training step allocates and frees tensors of a few MiB. glibc maps such blocks afresh and
// unmaps them on free, so every step paid for page faults and zeroed pages; keeping freed memory
// in the heap cut the time of de->en training steps to about 0.9x (docs/PERFORMANCE.md). Only for
// glibc's allocator (tcmalloc keeps freed memory itself), and left alone when GLIBC_TUNABLES sets
// malloc options. Returns whether it changed the allocator's settings.
bool keep_freed_memory_in_heap();

struct BlasInfo {
  std::string library;  // "OpenBLAS", or "unknown" when it exports nothing we recognise
  std::string core;     // OpenBLAS core name, e.g. "Haswell"
  std::string config;
  int threads = 0;
};
BlasInfo detect_blas();
// The CPU's best OpenBLAS core for its vector units, or "" when it has neither AVX2 nor AVX-512.
std::string preferred_openblas_core();

// A switch that is on unless the environment variable `name` is "0" (A/B measurements).
bool switch_from_environment(const char* name);

// Fastest measured default (see docs/PERFORMANCE.md) when `requested` is 0.
int configure_threads(int requested);
std::string startup_line();

}  // namespace nmt
