#include "model/int8_weights.hpp"

#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <limits>
#include <stdexcept>

#include "model/precision.hpp"
#include "onednn_shim/int8_matmul.hpp"

namespace nmt {
namespace {

thread_local const Int8Weights* this_thread_weights = nullptr;

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

at::QEngine engine_named(const std::string& name) {
  for (const auto engine : at::globalContext().supportedQEngines())
    if (lowercase(c10::toString(engine)) == name) return engine;
  throw std::invalid_argument("int8 engine '" + name + "' is not in this LibTorch");
}

// Prepacks under `engine` (without a bias): quantized::linear_prepack packs for the process-wide engine.
c10::intrusive_ptr<LinearPackedParamsBase> prepack(const at::Tensor& quantized_weight, const std::string& engine) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("quantized::linear_prepack", "")
                             .typed<c10::intrusive_ptr<LinearPackedParamsBase>(at::Tensor, c10::optional<at::Tensor>)>();
  auto& context = at::globalContext();
  const at::QEngine previous = context.qEngine();
  context.setQEngine(engine_named(engine));
  try {
    auto packed = op.call(quantized_weight, c10::nullopt);
    context.setQEngine(previous);
    return packed;
  } catch (...) {
    context.setQEngine(previous);
    throw;
  }
}

}  // namespace

bool int8_operand_in_7_bits(const std::string& engine) {
  if (engine == "qnnpack") return false;
  // oneDNN's own answer, which ONEDNN_MAX_CPU_ISA caps (no answer without oneDNN in nmt: 7 bits, to be safe).
  if (engine == "onednn-direct" || engine == "onednn") return !onednn_runs_vnni();
  return !cpu_has_vnni();
}

std::vector<std::string> int8_engines() {
  std::vector<std::string> available;
  if (onednn_int8_available()) available.emplace_back("onednn-direct");
  for (const auto engine : at::globalContext().supportedQEngines()) {
    const std::string name = lowercase(c10::toString(engine));
    if (name != "noqengine") available.push_back(name);
  }
  std::vector<std::string> ordered;
  for (const char* name : {"onednn-direct", "fbgemm", "x86", "onednn", "qnnpack"})
    if (std::find(available.begin(), available.end(), name) != available.end()) ordered.emplace_back(name);
  return ordered;
}

std::string int8_engine() {
  const auto engines = int8_engines();
  std::string names;
  for (const auto& name : engines) names += (names.empty() ? "" : ", ") + name;
  if (const char* chosen = std::getenv("NMT_INT8_ENGINE"); chosen && *chosen) {
    if (std::find(engines.begin(), engines.end(), chosen) == engines.end())
      throw std::invalid_argument("NMT_INT8_ENGINE=" + std::string(chosen) + ": this nmt's int8 engines are " +
                                  (names.empty() ? "none" : names));
    return chosen;
  }
  if (engines.empty())
    throw std::runtime_error("int8 decoding: no int8 engine (this LibTorch has no quantized engines, nmt was built without oneDNN)");
  return engines.front();
}

Int8Matrix::Int8Matrix(const torch::Tensor& weight, const torch::Tensor& bias, const std::string& engine,
                       Int8Input input)
    : input_(input),
      reduce_range_(engine != "onednn-direct" && int8_operand_in_7_bits(engine)),
      out_features_(weight.size(0)) {
  if (weight.dim() != 2 || !weight.device().is_cpu() || weight.scalar_type() != torch::kFloat)
    throw std::invalid_argument("int8: a weight must be a 2-d fp32 CPU matrix");
  if (weight.size(1) < 2) throw std::invalid_argument("int8: a weight needs at least two columns");
  torch::NoGradGuard no_grad;
  const auto w = weight.detach().contiguous();
  // A row's largest magnitude maps to the engine's largest weight; an all-zero row keeps a tiny positive scale.
  const double levels = engine == "onednn-direct" ? onednn_int8_weight_limit() : 127;
  const auto scales = (w.abs().amax(1) / levels).clamp_min(1e-12).to(torch::kDouble);
  if (bias.defined()) bias_ = bias.detach().to(torch::kFloat).contiguous();
  if (engine == "onednn-direct") {
    // Plain int8 values, without LibTorch's quantized tensors (which 2.x deprecates); the
    // activations' levels divide out with the weights' scales, once per column.
    const auto values =
        (w.to(torch::kDouble) / scales.unsqueeze(1)).round().clamp(-levels, levels).to(torch::kChar).contiguous();
    const auto column_scales = (scales / activation_levels()).to(torch::kFloat).contiguous();
    direct_ = std::make_shared<const OnednnInt8Matmul>(values.data_ptr<int8_t>(), column_scales.data_ptr<float>(),
                                                       bias_.defined() ? bias_.data_ptr<float>() : nullptr,
                                                       w.size(0), w.size(1));
  } else {
    const auto zero_points = torch::zeros({w.size(0)}, torch::kLong);
    packed_ = prepack(at::quantize_per_channel(w, scales, zero_points, 0, at::kQInt8), engine);
    span_row_ = torch::zeros({1, w.size(1)});
    span_row_[0][0] = 1.0;
    span_row_[0][1] = -1.0;
  }
  bytes_ = w.numel() + w.size(0) * static_cast<int64_t>(sizeof(double) + sizeof(int64_t)) +
           (bias.defined() ? bias.numel() * static_cast<int64_t>(sizeof(float)) : 0);
}

torch::Tensor Int8Matrix::linear(const torch::Tensor& x) const {
  const auto rows = x.reshape({-1, x.size(-1)}).to(torch::kFloat).contiguous();
  auto product = direct_ ? linear_direct(rows) : linear_libtorch(rows);
  auto sizes = x.sizes().vec();
  sizes.back() = out_features_;
  return product.view(sizes);
}

torch::Tensor Int8Matrix::linear_direct(const torch::Tensor& rows) const {
  // oneDNN runs on the OpenMP threads LibTorch sizes, which OpenMP counts per calling thread.
  thread_local const bool threads_sized = (at::init_num_threads(), true);
  (void)threads_sized;
  const int64_t n = rows.size(0);
  const auto quantized = torch::empty(rows.sizes(), torch::kChar);
  torch::Tensor row_scales;
  if (input_ == Int8Input::any) row_scales = torch::empty({n});
  float* scales = row_scales.defined() ? row_scales.data_ptr<float>() : nullptr;
  quantize_rows(rows.data_ptr<float>(), n, rows.size(1), activation_levels(), quantized.data_ptr<int8_t>(), scales);
  auto product = torch::empty({n, out_features_});
  direct_->multiply(quantized.data_ptr<int8_t>(), n, scales, product.data_ptr<float>());
  return product;
}

torch::Tensor Int8Matrix::linear_libtorch(const torch::Tensor& rows) const {
  const int64_t n = rows.size(0);
  // apply_dynamic quantizes its whole input with one scale and zero point, from the input's range.
  // With a row that spans exactly [-1, 1] and rows within it, every call's input has that range:
  // the quantization is the same for every batch, and a row's result depends on that row alone
  // (the int32 sums are exact). Rows of any size are first scaled into it, each by its largest
  // magnitude, which also lets each use all 8 bits; the scale multiplies the product back.
  auto input = torch::empty({n + 1, rows.size(1)}, rows.options());
  input.narrow(0, n, 1).copy_(span_row_);
  torch::Tensor scale;
  if (input_ == Int8Input::bounded) {
    input.narrow(0, 0, n).copy_(rows);
  } else {
    scale = rows.abs().amax(1, true).clamp_min_(std::numeric_limits<float>::min());
    auto scaled = input.narrow(0, 0, n);
    torch::div_out(scaled, rows, scale);
  }
  auto product = packed_->apply_dynamic(input, reduce_range_).narrow(0, 0, n);
  if (scale.defined())
    product = bias_.defined() ? torch::addcmul(bias_, product, scale) : product.mul(scale);
  else if (bias_.defined())
    product.add_(bias_);
  return product;
}

void Int8Weights::add(const torch::Tensor& weight, const torch::Tensor& bias, Int8Input input) {
  const auto* key = weight.unsafeGetTensorImpl();
  if (entries_.count(key)) return;
  entries_.emplace(key, Entry{weight, bias, std::make_shared<const Int8Matrix>(weight, bias, engine_, input)});
}

const Int8Matrix* Int8Weights::find(const torch::Tensor& weight, const torch::Tensor& bias) const {
  const auto it = entries_.find(weight.unsafeGetTensorImpl());
  if (it == entries_.end()) return nullptr;
  const bool same_bias = bias.defined() == it->second.bias.defined() &&
                         (!bias.defined() || bias.unsafeGetTensorImpl() == it->second.bias.unsafeGetTensorImpl());
  if (!same_bias) throw std::logic_error("int8: a matrix is used with another bias than the one it was added with");
  return it->second.matrix.get();
}

void Int8Weights::merge(const Int8Weights& other) {
  if (other.engine_ != engine_)
    throw std::logic_error("int8: cannot merge weights packed for " + other.engine_ + " into " + engine_);
  for (const auto& [key, entry] : other.entries_) entries_.emplace(key, entry);
}

int64_t Int8Weights::bytes() const {
  int64_t total = 0;
  for (const auto& [key, entry] : entries_) total += entry.matrix->bytes();
  return total;
}

Int8Scope::Int8Scope(const Int8Weights* weights) : previous_(this_thread_weights) { this_thread_weights = weights; }

Int8Scope::~Int8Scope() { this_thread_weights = previous_; }

const Int8Weights* current_int8_weights() { return this_thread_weights; }

const Int8Matrix* int8_matrix(const torch::Tensor& weight, const torch::Tensor& bias) {
  return this_thread_weights ? this_thread_weights->find(weight, bias) : nullptr;
}

}  // namespace nmt
