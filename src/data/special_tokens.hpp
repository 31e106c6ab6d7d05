// The special tokens every vocabulary holds at fixed ids.
#pragma once
#include <cstdint>

namespace nmt {

constexpr int32_t kPad = 0, kUnk = 1, kSos = 2, kEos = 3;

}  // namespace nmt
