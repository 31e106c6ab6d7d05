// Int8 matrix products through oneDNN's matmul called directly (Debian's libdnnl), kept apart from
// LibTorch: a LibTorch wheel ships oneDNN 3 headers, so this file is built without LibTorch's include paths.
// LibTorch's quantized linear hands oneDNN its scales per call, and oneDNN 2.6 then takes its generic
// int8 GEMM and builds the product every call. Here oneDNN computes only the exact int32 sums, with
// a kernel made once per shape (brgemm: AVX-512 VNNI, AMX; 4-20x faster at decoding's shapes), and
// the scales and the bias are applied after it.
#pragma once
#include <cstdint>
#include <memory>

namespace nmt {

// Whether this nmt was built with oneDNN (libdnnl-dev) and its int8 products give exact sums in this
// process (checked once; not under a LibTorch wheel on a CPU without VNNI), so nmt may use OnednnInt8Matmul.
bool onednn_int8_available();

// Whether oneDNN's kernels in this process multiply int8 with VNNI (AVX512-VNNI, AVX-VNNI, AMX), as
// its effective ISA says (the CPU, capped by ONEDNN_MAX_CPU_ISA); false without oneDNN.
bool onednn_runs_vnni();

// The largest weight magnitude OnednnInt8Matmul sums exactly: 127 with VNNI; 63 without it, where
// oneDNN's kernels (AVX2, AVX-512 without VNNI) add pairs of 8-bit products in saturating 16 bits.
int onednn_int8_weight_limit();

class OnednnInt8Matmul {
 public:
  // `out` rows of `in` int8 weights (row-major), a scale per output column and a bias (null: none),
  // all copied. Throws std::invalid_argument for a weight beyond onednn_int8_weight_limit(), and
  // std::runtime_error where this nmt was built without oneDNN.
  OnednnInt8Matmul(const int8_t* weight, const float* column_scales, const float* bias, int64_t out, int64_t in);
  ~OnednnInt8Matmul();
  OnednnInt8Matmul(const OnednnInt8Matmul&) = delete;
  OnednnInt8Matmul& operator=(const OnednnInt8Matmul&) = delete;
  // q (rows, in) int8 -> result (rows, out) fp32, both row-major:
  //   result[r][j] = (q[r] . weight[j]) * column_scales[j] * row_scales[r] + bias[j]
  // with exact int32 sums (row_scales null: 1). A row's result never depends on the other rows.
  // Safe to call from several threads.
  void multiply(const int8_t* q, int64_t rows, const float* row_scales, float* result) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Rounds each value times `levels` (127, or 63 for 7-bit activations) to int8, row by row: with
// row_scales null the values are within [-1, 1] (clamped); otherwise each row is first divided by its
// largest magnitude, which goes into row_scales[r] (the smallest positive float for an all-zero row).
void quantize_rows(const float* x, int64_t rows, int64_t in, float levels, int8_t* q, float* row_scales);

}  // namespace nmt
