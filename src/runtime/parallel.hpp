// Splits [0, n) into one contiguous chunk per core and runs them concurrently.
#pragma once
#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace nmt {

template <typename Body>  // body(begin, end)
void parallel_chunks(size_t n, const Body& body) {
  const size_t workers = std::max<size_t>(1, std::min<size_t>(std::thread::hardware_concurrency(), n / 64 + 1));
  const size_t chunk = (n + workers - 1) / workers;
  std::vector<std::thread> threads;
  for (size_t w = 1; w < workers; ++w)
    threads.emplace_back([&, w] { body(std::min(n, w * chunk), std::min(n, (w + 1) * chunk)); });
  body(0, std::min(n, chunk));
  for (auto& thread : threads) thread.join();
}

}  // namespace nmt
