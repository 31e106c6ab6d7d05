// Int8 products through oneDNN's matmul called directly, one primitive per row count with the
// weights' scales fixed when it is made. LibTorch's quantized linear hands oneDNN its scales per
// call, and oneDNN 2.6 then takes its generic int8 GEMM and builds the product every call; with
// fixed scales it takes its brgemm kernels (AVX-512 VNNI, AMX), 4-20x faster at decoding's shapes.
#pragma once
#include <torch/torch.h>

#include <memory>

namespace nmt {

// Whether this nmt was built with oneDNN (libdnnl-dev), so the "onednn-direct" engine exists.
bool onednn_direct_available();

class OnednnInt8Product {
 public:
  // weight (out, in) int8 and column_scales (out) fp32: the product's column j is multiplied by
  // column_scales[j]. Throws std::runtime_error where this nmt was built without oneDNN.
  OnednnInt8Product(const torch::Tensor& weight, const torch::Tensor& column_scales);
  ~OnednnInt8Product();
  OnednnInt8Product(const OnednnInt8Product&) = delete;
  OnednnInt8Product& operator=(const OnednnInt8Product&) = delete;
  // q (rows, in) int8, contiguous -> (rows, out) fp32: the exact int32 sums of each row with each
  // weight row, times the column's scale. A row's result never depends on the other rows.
  torch::Tensor multiply(const torch::Tensor& q) const;

 private:
  struct Primitives;
  std::unique_ptr<Primitives> primitives_;
};

}  // namespace nmt
