#include "model/dropout.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <mutex>

#include "model/cpu_fast_paths.hpp"
#include "runtime/vector_clones.hpp"

namespace nmt {
namespace {

constexpr int64_t kChunk = 4096;  // each chunk of elements has its own Philox subsequence

// Chunk `chunk`'s dropout mask, elements [0, count): at::Philox4_32(seed, chunk)'s draws in order,
// each `scale` where below `threshold`, else 0. That engine makes one 128-bit block per call on
// its counter (block, 0, chunk); blocks share no state, so this loop runs a vector of them at once
// (ATen/core/PhiloxRNGEngine.h: ten rounds of the same multiply-xor).
NMT_VECTOR_CLONES void philox_mask_chunk(uint64_t seed, uint64_t chunk, int64_t count, uint32_t threshold,
                                         float scale, float* mask) {
  constexpr uint32_t kWeylA = 0x9E3779B9, kWeylB = 0xBB67AE85, kMulA = 0xD2511F53, kMulB = 0xCD9E8D57;
  uint32_t words[kChunk];
  const int64_t blocks = (count + 3) / 4;
  for (int64_t block = 0; block < blocks; ++block) {
    uint32_t c0 = static_cast<uint32_t>(block), c1 = 0, c2 = static_cast<uint32_t>(chunk),
             c3 = static_cast<uint32_t>(chunk >> 32);
    uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
    for (int round = 0; round < 10; ++round) {
      const uint64_t a = static_cast<uint64_t>(kMulA) * c0, b = static_cast<uint64_t>(kMulB) * c2;
      const uint32_t n0 = static_cast<uint32_t>(b >> 32) ^ c1 ^ k0, n2 = static_cast<uint32_t>(a >> 32) ^ c3 ^ k1;
      c0 = n0;
      c1 = static_cast<uint32_t>(b);
      c2 = n2;
      c3 = static_cast<uint32_t>(a);
      k0 += kWeylA;
      k1 += kWeylB;
    }
    words[4 * block] = c0;
    words[4 * block + 1] = c1;
    words[4 * block + 2] = c2;
    words[4 * block + 3] = c3;
  }
  for (int64_t i = 0; i < count; ++i) mask[i] = words[i] < threshold ? scale : 0.0f;
}

}  // namespace

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
  // Keep where a 32-bit draw is below; p > 0 keeps the threshold within 32 bits.
  const auto threshold = static_cast<uint32_t>(keep * 4294967296.0);
  const auto scale = static_cast<float>(1.0 / keep);
  auto mask = torch::empty(input.sizes(), input.options());
  float* values = mask.data_ptr<float>();
  const int64_t count = mask.numel();
  at::parallel_for(0, (count + kChunk - 1) / kChunk, 1, [&](int64_t first, int64_t last) {
    for (int64_t chunk = first; chunk < last; ++chunk)
      philox_mask_chunk(seed, static_cast<uint64_t>(chunk), std::min(kChunk, count - chunk * kChunk), threshold,
                        scale, values + chunk * kChunk);
  });
  return input * mask;
}

}  // namespace nmt
