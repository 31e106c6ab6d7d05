// Times one int8 product through oneDNN 2.6 (Debian's libdnnl) at decoding's row counts two ways:
// fp32 out with the scales handed per call (as LibTorch's quantized linear asks), and the plain
// int32 sums (as nmt's onednn-direct engine asks, applying its scales after); prints the kernel
// oneDNN picked for each. Products are made once, outside the timing.
//   g++ -O2 -std=c++17 bench/onednn_int8_probe.cpp -o /tmp/onednn_int8_probe -ldnnl
//   OMP_NUM_THREADS=2 /tmp/onednn_int8_probe 512 1536
#include <oneapi/dnnl/dnnl.hpp>

#include <chrono>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <unordered_map>

using dnnl::memory;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: onednn_int8_probe IN OUT\n");
    return 2;
  }
  const memory::dim in = std::atoi(argv[1]), out = std::atoi(argv[2]);
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  for (const bool per_call : {true, false}) {
    for (const memory::dim rows : {1, 5, 64, 320}) {
      const memory::desc src({rows, in}, memory::data_type::s8, memory::format_tag::ab);
      const memory::desc weights({in, out}, memory::data_type::s8, memory::format_tag::any);
      const memory::desc dst({rows, out}, per_call ? memory::data_type::f32 : memory::data_type::s32,
                             memory::format_tag::ab);
      dnnl::primitive_attr attr;
      if (per_call) attr.set_output_scales(2, {DNNL_RUNTIME_F32_VAL});
      const dnnl::matmul::primitive_desc description(dnnl::matmul::desc(src, weights, dst), attr, engine);
      const dnnl::matmul product(description);
      memory src_memory(src, engine), weight_memory(description.weights_desc(), engine), dst_memory(dst, engine);
      memory scales({{out}, memory::data_type::f32, memory::format_tag::a}, engine);
      std::fill_n(static_cast<float*>(scales.get_data_handle()), out, 0.01f);
      std::unordered_map<int, memory> args{
          {DNNL_ARG_SRC, src_memory}, {DNNL_ARG_WEIGHTS, weight_memory}, {DNNL_ARG_DST, dst_memory}};
      if (per_call) args.emplace(DNNL_ARG_ATTR_OUTPUT_SCALES, scales);
      const auto run = [&] { product.execute(stream, args); };
      for (int i = 0; i < 10; ++i) run();
      const int repeats = rows == 1 ? 20000 : 2000;
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < repeats; ++i) run();
      stream.wait();
      const double us =
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / repeats;
      std::printf("%-14s rows %3ld: %-28s %8.2f us  %7.1f GOPS\n", per_call ? "scales per call" : "int32 sums", static_cast<long>(rows),
                  description.impl_info_str(), us, 2.0 * rows * in * out / us / 1e3);
    }
  }
}
