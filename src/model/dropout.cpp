#include "model/dropout.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/PhiloxRNGEngine.h>

#include <mutex>

#include "model/cpu_fast_paths.hpp"

namespace nmt {

torch::Tensor philox_dropout(const torch::Tensor& input, double p, bool training) {
  if (!training || p == 0.0) return input;
  if (!input.device().is_cpu() || input.scalar_type() != torch::kFloat || p >= 1.0 || !cpu_fast_paths_enabled())
    return torch::dropout(input, p, training);
  uint64_t seed = 0;
  {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    seed = generator.get<at::CPUGeneratorImpl>()->random64();
  }
  const double keep = 1.0 - p;
  const auto threshold = static_cast<uint64_t>(keep * 4294967296.0);  // keep where a 32-bit draw is below
  const auto scale = static_cast<float>(1.0 / keep);
  auto mask = torch::empty(input.sizes(), input.options());
  float* values = mask.data_ptr<float>();
  const int64_t count = mask.numel();
  constexpr int64_t kChunk = 4096;  // each chunk of elements has its own Philox subsequence
  at::parallel_for(0, (count + kChunk - 1) / kChunk, 1, [&](int64_t first, int64_t last) {
    for (int64_t chunk = first; chunk < last; ++chunk) {
      at::Philox4_32 engine(seed, static_cast<uint64_t>(chunk));
      const int64_t end = std::min(count, (chunk + 1) * kChunk);
      for (int64_t i = chunk * kChunk; i < end; ++i) values[i] = engine() < threshold ? scale : 0.0f;
    }
  });
  return input * mask;
}

}  // namespace nmt
