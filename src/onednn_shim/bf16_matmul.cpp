// oneDNN bf16 matmul kernels with fp32 results, made once per small shape or large layout and thread count.
#include "onednn_shim/bf16_matmul.hpp"

#include <array>
#include <stdexcept>
#include <vector>

#include "onednn_shim/bf16_layouts.hpp"   // empty without oneDNN
#include "onednn_shim/onednn_engine.hpp"  // empty without oneDNN

namespace nmt {

#ifdef NMT_WITH_ONEDNN

namespace {

using Layout = dnnl::memory::desc;

// Products of at most this many rows (a recurrent step's, a decoding step's) get a kernel made for
// their exact shape (brgemm: 11-14% faster there); larger ones, whose sizes change with every batch,
// share one kernel per layout with all sizes given at run time (gemm:jit: as fast there; a kernel
// per batch shape added 70 MB to the peak RSS of 60 bench-lstm steps).
constexpr int64_t kMaxExactRows = 128;

using KernelKey = std::array<int64_t, 11>;

dnnl::matmul kernel(const Bf16Matrix& a, const Bf16Matrix& b, int64_t ldc, bool bias, bool accumulate, int threads) {
  static OnednnKernelCache<KernelKey, dnnl::matmul> kernels;
  const bool exact = a.rows <= kMaxExactRows;
  // A run-time kernel is keyed by its layouts alone: which of each operand's strides is 1.
  const KernelKey key = exact ? KernelKey{a.rows,          a.columns, b.columns, a.row_stride, a.column_stride,
                                          b.row_stride,    b.column_stride, ldc, bias,         accumulate, threads}
                              : KernelKey{-1, 0, 0, a.column_stride == 1, 0, b.column_stride == 1, 0, 0, bias,
                                          accumulate, threads};
  return kernels.get(key, [&] {
    constexpr int64_t kAny = DNNL_RUNTIME_DIM_VAL;
    const auto any_layout = [](const Bf16Matrix& m) {
      return Layout({kAny, kAny}, dnnl::memory::data_type::bf16,
                    m.column_stride == 1 ? dnnl::memory::dims{kAny, 1} : dnnl::memory::dims{1, kAny});
    };
    const Layout left = exact ? bf16_layout(a) : any_layout(a), right = exact ? bf16_layout(b) : any_layout(b);
    const Layout dst = exact ? fp32_rows(a.rows, b.columns, ldc) : fp32_rows(kAny, kAny, kAny);
    const Layout bias_row = exact ? fp32_rows(1, b.columns, b.columns) : fp32_rows(1, kAny, kAny);
    dnnl::primitive_attr attributes;
    if (accumulate) {
      dnnl::post_ops sum;
      sum.append_sum(1.0f);
      attributes.set_post_ops(sum);
    }
    const auto description =
        bias ? dnnl::matmul::desc(left, right, bias_row, dst) : dnnl::matmul::desc(left, right, dst);
    return dnnl::matmul(dnnl::matmul::primitive_desc(description, attributes, onednn_cpu_engine()));
  });
}

// Whether oneDNN runs these products in this process, checked once on a small product of each route
// (exact shape, run-time sizes) against exact sums. Under a LibTorch wheel (2.15) Debian's oneDNN
// answers `unimplemented` when gemm:jit executes (the wheel's oneDNN 3.x takes over 2.6's kernel
// set-up by symbol name: bench/onednn_wheel_probe.cpp); there precise:: keeps LibTorch's.
bool products_run() {
  const auto run = [](int64_t rows) {
    std::vector<uint16_t> left(rows * 8, 0x3f80), right(8 * 3, 0x4000);  // ones times twos
    std::vector<float> result(rows * 3, 0.0f);
    bf16_matmul({left.data(), rows, 8, 8, 1}, {right.data(), 8, 3, 3, 1}, result.data(), 3, nullptr, false, 1);
    for (const float value : result)
      if (value != 16.0f) return false;
    return true;
  };
  try {
    return run(5) && run(kMaxExactRows + 1);
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

bool onednn_bf16_available() {
  static const bool available = products_run();
  return available;
}

void bf16_matmul(const Bf16Matrix& a, const Bf16Matrix& b, float* c, int64_t ldc, const float* bias, bool accumulate,
                 int threads) {
  if (a.columns != b.rows || a.columns < 1)
    throw std::invalid_argument("bf16_matmul: the inner sizes differ or are empty");
  if (a.rows == 0 || b.columns == 0) return;
  const dnnl::matmul product = kernel(a, b, ldc, bias != nullptr, accumulate, threads);
  thread_local dnnl::stream stream(onednn_cpu_engine());
  const dnnl::engine& engine = onednn_cpu_engine();
  dnnl::memory src(bf16_layout(a), engine, const_cast<uint16_t*>(a.data));
  dnnl::memory weights(bf16_layout(b), engine, const_cast<uint16_t*>(b.data));
  dnnl::memory dst(fp32_rows(a.rows, b.columns, ldc), engine, c);
  if (bias) {
    dnnl::memory bias_row(fp32_rows(1, b.columns, b.columns), engine, const_cast<float*>(bias));
    product.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias_row},
                             {DNNL_ARG_DST, dst}});
  } else {
    product.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
  }
  stream.wait();
}

#else

bool onednn_bf16_available() { return false; }

void bf16_matmul(const Bf16Matrix&, const Bf16Matrix&, float*, int64_t, const float*, bool, int) {
  throw std::runtime_error("bf16 products through oneDNN: this nmt was built without it (apt-get install libdnnl-dev)");
}

#endif

}  // namespace nmt
