// Compiles a function once per vector width (AVX-512, AVX2, baseline); the loader picks the one
// the CPU runs, so one binary is fast on every x86-64 machine.
#pragma once

#define NMT_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
