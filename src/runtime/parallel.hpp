// Splitting work across the cores with plain threads.
#pragma once
#include <algorithm>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace nmt {

inline size_t parallel_workers() { return std::max<size_t>(1, std::thread::hardware_concurrency()); }

// body(worker, begin, end), worker < parallel_workers(); the same n gives the same chunks.
template <typename Body>
void parallel_worker_chunks(size_t n, const Body& body) {
  const size_t workers = std::min(parallel_workers(), n / 64 + 1);
  const size_t chunk = (n + workers - 1) / workers;
  std::vector<std::thread> threads;
  for (size_t w = 1; w < workers; ++w)
    threads.emplace_back([&, w] { body(w, std::min(n, w * chunk), std::min(n, (w + 1) * chunk)); });
  body(size_t{0}, size_t{0}, std::min(n, chunk));
  for (auto& thread : threads) thread.join();
}

template <typename Body>  // body(begin, end)
void parallel_chunks(size_t n, const Body& body) {
  parallel_worker_chunks(n, [&](size_t, size_t begin, size_t end) { body(begin, end); });
}

// Runs `first` here and `second` on a new thread; returns when both are done, rethrowing the
// first one's exception if both fail.
template <typename First, typename Second>
void run_concurrently(const First& first, const Second& second) {
  std::exception_ptr second_error;
  std::thread thread([&] {
    try {
      second();
    } catch (...) {
      second_error = std::current_exception();
    }
  });
  try {
    first();
  } catch (...) {
    thread.join();
    throw;
  }
  thread.join();
  if (second_error) std::rethrow_exception(second_error);
}

}  // namespace nmt
