// The process's oneDNN CPU engine.
#include "onednn_shim/onednn_engine.hpp"

#ifdef NMT_WITH_ONEDNN
namespace nmt {

const dnnl::engine& onednn_cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

}  // namespace nmt
#endif
