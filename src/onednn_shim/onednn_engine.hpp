// The one oneDNN CPU engine the shims make their kernels on, and the bounded cache they keep them in.
#pragma once
#ifdef NMT_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <mutex>

namespace nmt {

const dnnl::engine& onednn_cpu_engine();

// Kernels by key for the whole process, safe across threads. Past 4,096 kernels the cache starts
// over rather than grow without bound: a server meets ever new shapes (batch rows, list widths).
template <typename Key, typename Kernel>
class OnednnKernelCache {
 public:
  // The kernel for `key`, made by make() the first time.
  template <typename Make>
  Kernel get(const Key& key, Make&& make) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (const auto found = kernels_.find(key); found != kernels_.end()) return found->second;
    if (kernels_.size() >= 4096) kernels_.clear();
    return kernels_.emplace(key, make()).first->second;
  }

 private:
  std::mutex mutex_;
  std::map<Key, Kernel> kernels_;
};

}  // namespace nmt
#endif
