// oneDNN int8 matmul kernels made once per shape; the scales and the bias applied after them.
#include "onednn_shim/int8_matmul.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef NMT_WITH_ONEDNN
#include <array>
#include <mutex>

#include "onednn_shim/onednn_engine.hpp"
#endif

namespace nmt {

#ifdef NMT_WITH_ONEDNN

namespace {

using dnnl::memory;

// The int32 product of (rows, in) int8 rows with a (in, out) int8 matrix, and the layout it reads
// the matrix in; one per shape for the whole process (shortlists make new matrices of seen shapes).
// Handles: a copy shares the kernel.
struct Kernel {
  dnnl::matmul primitive;
  memory::desc weights;
};

Kernel kernel(int64_t rows, int64_t in, int64_t out) {
  static OnednnKernelCache<std::array<int64_t, 3>, Kernel> kernels;
  return kernels.get({rows, in, out}, [&] {
    const memory::desc src({rows, in}, memory::data_type::s8, memory::format_tag::ab);
    const memory::desc any_weights({in, out}, memory::data_type::s8, memory::format_tag::any);
    const memory::desc dst({rows, out}, memory::data_type::s32, memory::format_tag::ab);
    const dnnl::matmul::primitive_desc description(dnnl::matmul::desc(src, any_weights, dst), onednn_cpu_engine());
    return Kernel{dnnl::matmul(description), description.weights_desc()};
  });
}

}  // namespace

namespace {
// Whether oneDNN's int8 products give exact sums in this process, checked once on row counts that
// take different kernels. Under a LibTorch wheel on a CPU without VNNI they do not: Debian's oneDNN
// runs gemm:jit there, whose kernels the wheel's oneDNN 3.x keeps from being set up (as for bf16,
// bench/onednn_wheel_probe.cpp), and the sums come back wrong (seen with oneDNN capped at AVX2 and
// on an emulated Zen 3).
bool products_run() {
  constexpr int64_t in = 40, out = 24;
  std::vector<int8_t> weight(in * out);
  for (size_t i = 0; i < weight.size(); ++i) weight[i] = static_cast<int8_t>(static_cast<int>(i % 7) - 3);
  const std::vector<float> scales(out, 1.0f);
  try {
    const OnednnInt8Matmul product(weight.data(), scales.data(), nullptr, out, in);
    for (const int64_t rows : {1, 5, 64, 200}) {
      std::vector<int8_t> q(rows * in);
      for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<int8_t>(static_cast<int>(i % 11) - 5);
      std::vector<float> result(rows * out);
      product.multiply(q.data(), rows, nullptr, result.data());
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < out; ++j) {
          int32_t sum = 0;
          for (int64_t k = 0; k < in; ++k) sum += q[r * in + k] * weight[j * in + k];
          if (result[r * out + j] != static_cast<float>(sum)) return false;
        }
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
}
}  // namespace

bool onednn_int8_available() {
  static const bool available = products_run();
  return available;
}

bool onednn_runs_vnni() {
  // Every VNNI ISA's value holds one of these bits: avx512_core_vnni's (0x40) or avx2_vnni's (0x400).
  static const bool vnni = (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & 0x440u) != 0;
  return vnni;
}

struct OnednnInt8Matmul::State {
  int64_t out, in;
  std::vector<int8_t> weight;  // (out, in) row-major: a (in, out) matrix in oneDNN's `ba` order
  std::vector<float> scales, bias;
  std::mutex mutex;
  // The weights reordered for each layout a kernel asked for: kernels for one row and for many differ.
  std::vector<memory> layouts;

  memory weights_for(const memory::desc& wanted) {
    const std::lock_guard<std::mutex> lock(mutex);
    for (const auto& layout : layouts)
      if (layout.get_desc() == wanted) return layout;
    memory plain({{in, out}, memory::data_type::s8, memory::format_tag::ba}, onednn_cpu_engine(), weight.data());
    memory reordered(wanted, onednn_cpu_engine());
    dnnl::stream stream(onednn_cpu_engine());
    dnnl::reorder(plain, reordered).execute(stream, plain, reordered);
    stream.wait();
    layouts.push_back(reordered);
    return layouts.back();
  }
};

OnednnInt8Matmul::OnednnInt8Matmul(const int8_t* weight, const float* column_scales, const float* bias, int64_t out,
                                   int64_t in)
    : state_(std::make_unique<State>()) {
  if (out < 1 || in < 1) throw std::invalid_argument("onednn int8: a weight needs at least one row and column");
  const int limit = onednn_int8_weight_limit();
  for (int64_t i = 0; i < out * in; ++i)
    if (weight[i] > limit || weight[i] < -limit)
      throw std::invalid_argument("onednn int8: weight " + std::to_string(weight[i]) + " is beyond +-" +
                                  std::to_string(limit) + ", which oneDNN sums exactly on this CPU");
  state_->out = out;
  state_->in = in;
  state_->weight.assign(weight, weight + out * in);
  state_->scales.assign(column_scales, column_scales + out);
  if (bias) state_->bias.assign(bias, bias + out);
}

void OnednnInt8Matmul::multiply(const int8_t* q, int64_t rows, const float* row_scales, float* result) const {
  if (rows == 0) return;
  const int64_t in = state_->in, out = state_->out;
  const Kernel product = kernel(rows, in, out);
  const memory weights = state_->weights_for(product.weights);
  thread_local dnnl::stream stream(onednn_cpu_engine());
  // The int32 sums land in `result` itself and become floats there, row by row.
  memory src({{rows, in}, memory::data_type::s8, memory::format_tag::ab}, onednn_cpu_engine(), const_cast<int8_t*>(q));
  memory dst({{rows, out}, memory::data_type::s32, memory::format_tag::ab}, onednn_cpu_engine(), result);
  product.primitive.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
  stream.wait();
  const float* scales = state_->scales.data();
  const float* bias = state_->bias.empty() ? nullptr : state_->bias.data();
  for (int64_t r = 0; r < rows; ++r) {
    float* row = result + r * out;
    const float row_scale = row_scales ? row_scales[r] : 1.0f;
    // The int32 in each float's place, read through memcpy rather than an aliasing pointer.
    const auto value = [&](int64_t j) {
      int32_t sum;
      std::memcpy(&sum, row + j, sizeof sum);
      return static_cast<float>(sum) * scales[j] * row_scale;
    };
    if (bias)
      for (int64_t j = 0; j < out; ++j) row[j] = value(j) + bias[j];
    else
      for (int64_t j = 0; j < out; ++j) row[j] = value(j);
  }
}

#else

struct OnednnInt8Matmul::State {};

bool onednn_int8_available() { return false; }

bool onednn_runs_vnni() { return false; }

OnednnInt8Matmul::OnednnInt8Matmul(const int8_t*, const float*, const float*, int64_t, int64_t) {
  throw std::runtime_error("int8 engine onednn-direct: this nmt was built without oneDNN (apt-get install libdnnl-dev)");
}

void OnednnInt8Matmul::multiply(const int8_t*, int64_t, const float*, float*) const {}

#endif

OnednnInt8Matmul::~OnednnInt8Matmul() = default;

int onednn_int8_weight_limit() { return onednn_runs_vnni() ? 127 : 63; }

void quantize_rows(const float* x, int64_t rows, int64_t in, float levels, int8_t* q, float* row_scales) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * in;
    int8_t* quantized = q + r * in;
    float factor = levels;
    if (row_scales) {
      float largest = 0;
      for (int64_t i = 0; i < in; ++i) largest = std::max(largest, std::fabs(row[i]));
      row_scales[r] = std::max(largest, std::numeric_limits<float>::min());
      factor = largest > 0 ? levels / largest : 0.0f;  // an all-zero row stays zero
    }
    // Adding and taking away 1.5 * 2^23 rounds to the nearest integer (ties to even), as
    // nearbyint does at these magnitudes, in a loop the compiler vectorizes.
    constexpr float kRound = 12582912.0f;
    for (int64_t i = 0; i < in; ++i) {
      const float scaled = row[i] * factor;
      // NaN (a broken activation) becomes 0 rather than an undefined conversion.
      const float v = scaled == scaled ? std::min(std::max(scaled, -levels), levels) : 0.0f;
      quantized[i] = static_cast<int8_t>(static_cast<int32_t>((v + kRound) - kRound));
    }
  }
}

}  // namespace nmt
