// The oneDNN memory layouts of the bf16 shims' matrices: bf16 operands at their strides, fp32 results by rows.
#pragma once
#ifdef NMT_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>

#include "onednn_shim/bf16_matmul.hpp"

namespace nmt {

inline dnnl::memory::desc bf16_layout(const Bf16Matrix& m) {
  return dnnl::memory::desc({m.rows, m.columns}, dnnl::memory::data_type::bf16, {m.row_stride, m.column_stride});
}

inline dnnl::memory::desc fp32_rows(int64_t rows, int64_t columns, int64_t row_stride) {
  return dnnl::memory::desc({rows, columns}, dnnl::memory::data_type::f32, {row_stride, 1});
}

}  // namespace nmt
#endif
