// Whether Debian's oneDNN runs a bf16 gemm:jit product in a process that also loads a torch wheel's
// libtorch_cpu, which exports weak oneDNN 3.x internals under names 2.6 uses too; and whether a
// library loaded with RTLD_DEEPBIND, whose lookups search its own dependencies first, escapes that.
// One file, built twice: the product as a library linked to libdnnl, and a main linked to libtorch_cpu.
//   T=~/.cache/nmt/torch-2.15.0/lib/python3.11/site-packages/torch/lib
//   g++ -O1 -std=c++17 -fPIC -shared -DPROBE_LIBRARY bench/onednn_wheel_probe.cpp -o /tmp/libwheel_probe.so -ldnnl
//   g++ -O1 -std=c++17 bench/onednn_wheel_probe.cpp -o /tmp/wheel_probe -Wl,--no-as-needed -L$T -ltorch_cpu -ldl \
//       -Wl,-rpath,$T
//   /tmp/wheel_probe /tmp/libwheel_probe.so; /tmp/wheel_probe /tmp/libwheel_probe.so deepbind
#ifdef PROBE_LIBRARY
#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <cstdio>
#include <vector>

// Ones times twos over 8 sums, 200 rows: past the shim's exact-shape kernels, so run-time sizes (gemm:jit).
extern "C" int probe_product() {
  using dnnl::memory;
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const int64_t any = DNNL_RUNTIME_DIM_VAL, rows = 200, inner = 8, columns = 3;
  const memory::desc left_any({any, any}, memory::data_type::bf16, memory::dims{any, 1});
  const memory::desc out_any({any, any}, memory::data_type::f32, memory::dims{any, 1});
  try {
    const dnnl::matmul::primitive_desc description(dnnl::matmul::desc(left_any, left_any, out_any), engine);
    std::vector<uint16_t> a(rows * inner, 0x3f80), b(inner * columns, 0x4000);
    std::vector<float> c(rows * columns, 0.0f);
    memory left({{rows, inner}, memory::data_type::bf16, memory::dims{inner, 1}}, engine, a.data());
    memory right({{inner, columns}, memory::data_type::bf16, memory::dims{columns, 1}}, engine, b.data());
    memory out({{rows, columns}, memory::data_type::f32, memory::dims{columns, 1}}, engine, c.data());
    dnnl::matmul(description).execute(stream, {{DNNL_ARG_SRC, left}, {DNNL_ARG_WEIGHTS, right}, {DNNL_ARG_DST, out}});
    stream.wait();
    std::printf("%s: first sum %g (16 expected)\n", description.impl_info_str(), c[0]);
    return c[0] == 16.0f ? 0 : 1;
  } catch (const dnnl::error& e) {
    std::printf("oneDNN: %s\n", e.what());
    return 1;
  }
}
#else
#include <dlfcn.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: wheel_probe LIBRARY [deepbind]\n");
    return 2;
  }
  void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL | (argc > 2 ? RTLD_DEEPBIND : 0));
  if (!library) {
    std::fprintf(stderr, "dlopen: %s\n", dlerror());
    return 2;
  }
  const auto probe = reinterpret_cast<int (*)()>(dlsym(library, "probe_product"));
  return probe ? probe() : 2;
}
#endif
