// Per-row dot-product attention for decoding steps, threaded over rows.
#include "model/step_attention.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "runtime/vector_clones.hpp"

namespace nmt {
namespace {

// One row: scores over its real positions, softmax, context. `memory` steps `stride` floats from
// one position to the next. Built with -ffast-math (vectorized sums and exp): no
// infinities, so padding is skipped, not masked.
NMT_VECTOR_CLONES void attend_row(const float* query, const float* memory, int64_t stride,
                                  const bool* real, int64_t positions, int64_t width, float* weights,
                                  float* context) {
  float largest = 0;
  bool seen = false;
  for (int64_t s = 0; s < positions; ++s) {
    if (!real[s]) continue;
    const float* key = memory + s * stride;
    float score = 0;
    for (int64_t i = 0; i < width; ++i) score += query[i] * key[i];
    weights[s] = score;
    largest = seen ? std::max(largest, score) : score;
    seen = true;
  }
  float total = 0;
  for (int64_t s = 0; s < positions; ++s) {
    if (!real[s]) continue;
    weights[s] = std::exp(weights[s] - largest);
    total += weights[s];
  }
  for (int64_t i = 0; i < width; ++i) context[i] = 0;
  if (total == 0) return;  // no real position: nothing to attend to
  for (int64_t s = 0; s < positions; ++s) {
    if (!real[s]) continue;
    weights[s] /= total;
    const float weight = weights[s];
    const float* value = memory + s * stride;
    for (int64_t i = 0; i < width; ++i) context[i] += weight * value[i];
  }
}

}  // namespace

std::tuple<torch::Tensor, torch::Tensor> step_attention(const torch::Tensor& query, const torch::Tensor& memory,
                                                        const torch::Tensor& mask) {
  if (query.dim() != 2 || memory.dim() != 3 || mask.dim() != 2 || query.size(0) != memory.size(0) ||
      query.size(1) != memory.size(2) || mask.size(0) != memory.size(0) || mask.size(1) != memory.size(1))
    throw std::invalid_argument("step_attention: query (B, M), memory (B, S, M), mask (B, S)");
  const auto q = query.to(torch::kFloat).contiguous();
  // The encoder's memory is often a transposed view: read in place rather than copied every step.
  auto k = memory.to(torch::kFloat);
  if (k.stride(2) != 1) k = k.contiguous();
  const auto real = mask.to(torch::kBool).contiguous();
  const int64_t rows = k.size(0), positions = k.size(1), width = k.size(2);
  const int64_t row_stride = k.stride(0), position_stride = k.stride(1);
  auto context = torch::empty({rows, width});
  auto weights = torch::zeros({rows, positions});
  const float* q_data = q.data_ptr<float>();
  const float* k_data = k.data_ptr<float>();
  const bool* real_data = real.data_ptr<bool>();
  float* context_data = context.data_ptr<float>();
  float* weight_data = weights.data_ptr<float>();
  // A row's work is about positions * width multiply-adds, twice.
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, positions * width));
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      attend_row(q_data + r * width, k_data + r * row_stride, position_stride,
                 real_data + r * positions, positions, width, weight_data + r * positions, context_data + r * width);
  });
  return {context, weights};
}

}  // namespace nmt
