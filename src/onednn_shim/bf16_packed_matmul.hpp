// bf16 products with a right-hand matrix reordered once into the blocked layout oneDNN's kernels
// read: a plain matrix is reordered by every product that reads it, which for a recurrent step's
// product (64 rows by 512x2048, 2 threads of a Zen 5) took a fifth of its time. For a weight used
// by many products in a row: a recurrent layer's W_hh, once per step.
#pragma once
#include <cstdint>
#include <memory>

#include "onednn_shim/bf16_matmul.hpp"

namespace nmt {

class Bf16PackedMatrix {
 public:
  // `b` reordered for products run at `threads` threads. Throws std::runtime_error where this nmt
  // was built without oneDNN or oneDNN cannot pack it.
  Bf16PackedMatrix(const Bf16Matrix& b, int threads);
  ~Bf16PackedMatrix();
  Bf16PackedMatrix(const Bf16PackedMatrix&) = delete;
  Bf16PackedMatrix& operator=(const Bf16PackedMatrix&) = delete;

  int64_t rows() const { return rows_; }
  int64_t columns() const { return columns_; }

  // c (a.rows x columns(), row-major with row stride ldc) = a @ this, plus c's own values when
  // accumulate, summed in fp32; the same sums as bf16_matmul's kernel for a's shape makes. Throws
  // std::invalid_argument on mismatched sizes, std::runtime_error where oneDNN has no kernel for it.
  void multiply(const Bf16Matrix& a, float* c, int64_t ldc, bool accumulate) const;

 private:
  struct Packed;
  std::unique_ptr<Packed> packed_;
  int64_t rows_, columns_;
  int threads_;
};

}  // namespace nmt
