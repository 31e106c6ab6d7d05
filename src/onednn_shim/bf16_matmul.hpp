// bf16 matrix products with fp32 results through oneDNN's matmul called directly (Debian's libdnnl),
// kept apart from LibTorch as int8_matmul is. LibTorch's bf16 products round their results to bf16,
// which then costs a conversion pass back to fp32 (and an add for a bias or an accumulation); here
// oneDNN sums in fp32 and writes, adds the bias to or accumulates into the fp32 result itself, with
// kernels made once rather than looked up per call.
#pragma once
#include <cstdint>

namespace nmt {

// Whether this nmt was built with oneDNN (libdnnl-dev) and oneDNN runs these products in this
// process (checked once), so bf16_matmul works.
bool onednn_bf16_available();

// A bf16 matrix in memory (raw bits): element (i, j) at data[i * row_stride + j * column_stride],
// one of the strides 1 (row-major or column-major, rows or columns possibly spaced).
struct Bf16Matrix {
  const uint16_t* data;
  int64_t rows, columns, row_stride, column_stride;
};

// c (a.rows x b.columns, row-major with row stride ldc) = a @ b, plus bias[j] on every row when bias
// is not null, plus c's own values when accumulate. a.columns == b.rows >= 1. `threads` is the
// thread count the caller runs at: kernels are made for it, so a product's bits depend only on its
// shapes, layouts and thread count. Throws std::runtime_error where this nmt was built without oneDNN.
void bf16_matmul(const Bf16Matrix& a, const Bf16Matrix& b, float* c, int64_t ldc, const float* bias, bool accumulate,
                 int threads);

}  // namespace nmt
