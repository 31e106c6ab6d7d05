// bf16 values as the raw 16 bits kernels read and write: the upper half of an fp32's bits.
#pragma once
#include <cstdint>
#include <cstring>

namespace nmt {

inline float widen_bf16(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof value);
  return value;
}

// Rounded to nearest even, as LibTorch converts; for finite values (NaN may turn into infinity,
// which the kernels built with fast-math do not produce from finite input).
inline uint16_t narrow_to_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

}  // namespace nmt
