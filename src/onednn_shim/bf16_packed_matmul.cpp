// A bf16 matrix reordered once into oneDNN's blocked weights layout, and products that read it.
#include "onednn_shim/bf16_packed_matmul.hpp"

#include <array>
#include <atomic>
#include <stdexcept>
#include <vector>

#include "onednn_shim/bf16_layouts.hpp"   // empty without oneDNN
#include "onednn_shim/onednn_engine.hpp"  // empty without oneDNN

namespace nmt {

#ifdef NMT_WITH_ONEDNN

namespace {
using Layout = dnnl::memory::desc;
using dnnl::memory;

// The products' left operands as the step kernels hand them over: rows of K, one after the other.
Layout left_rows(int64_t rows, int64_t inner) { return Layout({rows, inner}, memory::data_type::bf16, {inner, 1}); }

dnnl::matmul::primitive_desc description(const Layout& left, const Layout& right, const Layout& dst,
                                         bool accumulate) {
  dnnl::primitive_attr attributes;
  if (accumulate) {
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    attributes.set_post_ops(sum);
  }
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(left, right, dst), attributes, onednn_cpu_engine());
}
// A number for each packed layout (its blocking) met in this process, so a product's kernel key
// names the layout its kernel reads without carrying the layout's description.
int64_t layout_number(const Layout& layout) {
  std::vector<int64_t> blocking{layout.data.format_kind};
  const dnnl_blocking_desc_t& blocks = layout.data.format_desc.blocking;
  blocking.insert(blocking.end(), blocks.strides, blocks.strides + layout.data.ndims);
  blocking.insert(blocking.end(), blocks.inner_blks, blocks.inner_blks + blocks.inner_nblks);
  blocking.insert(blocking.end(), blocks.inner_idxs, blocks.inner_idxs + blocks.inner_nblks);
  blocking.push_back(static_cast<int64_t>(layout.data.extra.flags));
  static OnednnKernelCache<std::vector<int64_t>, int64_t> numbers;
  static std::atomic<int64_t> next{0};  // never reused, even after the cache starts over
  return numbers.get(blocking, [] { return next++; });
}
}  // namespace

struct Bf16PackedMatrix::Packed {
  memory weights;
  int64_t layout = 0;  // layout_number of the weights' layout
};

Bf16PackedMatrix::Bf16PackedMatrix(const Bf16Matrix& b, int threads)
    : rows_(b.rows), columns_(b.columns), threads_(threads) {
  if (b.rows < 1 || b.columns < 1) throw std::invalid_argument("Bf16PackedMatrix: an empty matrix");
  try {
    // The layout oneDNN picks for this matrix as weights (the same for every row count checked:
    // 1 to 128 rows at 512x2048 and 2048x512); each product's kernel is then made for it exactly.
    const Layout any({b.rows, b.columns}, memory::data_type::bf16, memory::format_tag::any);
    const auto query = description(left_rows(1, b.rows), any, fp32_rows(1, b.columns, b.columns), false);
    const dnnl::engine& engine = onednn_cpu_engine();
    memory plain(bf16_layout(b), engine, const_cast<uint16_t*>(b.data));
    packed_ = std::make_unique<Packed>(Packed{memory(query.weights_desc(), engine), layout_number(query.weights_desc())});
    dnnl::stream stream(engine);
    dnnl::reorder(plain, packed_->weights).execute(stream, plain, packed_->weights);
    stream.wait();
  } catch (const dnnl::error& e) {
    throw std::runtime_error(std::string("oneDNN cannot pack a bf16 matrix: ") + e.what());
  }
}

Bf16PackedMatrix::~Bf16PackedMatrix() = default;

void Bf16PackedMatrix::multiply(const Bf16Matrix& a, float* c, int64_t ldc, bool accumulate) const {
  if (a.columns != rows_) throw std::invalid_argument("Bf16PackedMatrix: the inner sizes differ");
  if (a.rows == 0) return;
  if (a.row_stride != a.columns || a.column_stride != 1)
    throw std::invalid_argument("Bf16PackedMatrix: the left operand must be dense rows");
  // Kernels by shape and thread count, as bf16_matmul's exact ones, and by the packed layout, so a
  // kernel only ever reads the layout it was made for.
  static OnednnKernelCache<std::array<int64_t, 7>, dnnl::matmul> kernels;
  const Layout& weights_layout = packed_->weights.get_desc();
  const std::array<int64_t, 7> key{a.rows, rows_, columns_, ldc, accumulate, threads_, packed_->layout};
  try {
    const dnnl::matmul product = kernels.get(key, [&] {
      return dnnl::matmul(description(left_rows(a.rows, rows_), weights_layout, fp32_rows(a.rows, columns_, ldc),
                                      accumulate));
    });
    thread_local dnnl::stream stream(onednn_cpu_engine());
    const dnnl::engine& engine = onednn_cpu_engine();
    memory src(left_rows(a.rows, rows_), engine, const_cast<uint16_t*>(a.data));
    memory dst(fp32_rows(a.rows, columns_, ldc), engine, c);
    product.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, packed_->weights}, {DNNL_ARG_DST, dst}});
    stream.wait();
  } catch (const dnnl::error& e) {
    throw std::runtime_error(std::string("oneDNN has no kernel for a packed bf16 product: ") + e.what());
  }
}

#else

struct Bf16PackedMatrix::Packed {};

Bf16PackedMatrix::Bf16PackedMatrix(const Bf16Matrix& b, int threads)
    : rows_(b.rows), columns_(b.columns), threads_(threads) {
  throw std::runtime_error("packed bf16 products through oneDNN: this nmt was built without it "
                           "(apt-get install libdnnl-dev)");
}
Bf16PackedMatrix::~Bf16PackedMatrix() = default;
void Bf16PackedMatrix::multiply(const Bf16Matrix&, float*, int64_t, bool) const {}

#endif

}  // namespace nmt
