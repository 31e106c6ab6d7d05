// Where a bench-gru/bench-lstm training step spends its time, by LibTorch's profiler: the model,
// loss, clipping and Adam of `nmt train`, on one synthetic batch of bench shapes (64 pairs,
// sources of 8 to 18 tokens, targets of 9 to 19 plus EOS). Prints the unprofiled step time and the
// operators and autograd nodes by total time per step; times are inclusive, so nested entries
// overlap.
//   ninja -C build nmt_step_profile && build/nmt_step_profile [gru|lstm] [threads] [rows] [fp32|bf16]
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <map>

#include "config/config.hpp"
#include "data/batch.hpp"
#include "data/special_tokens.hpp"
#include "model/precision.hpp"
#include "model/seq2seq.hpp"
#include "scoring/translation_loss.hpp"
#include "train/fused_adam.hpp"

using namespace nmt;

int main(int argc, char** argv) {
  const std::string cell = argc > 1 ? argv[1] : "gru";
  torch::set_num_threads(argc > 2 ? std::atoi(argv[2]) : 2);
  const size_t rows = argc > 3 ? static_cast<size_t>(std::atoi(argv[3])) : 45;
  const PrecisionScope precision(precision_from_name(argc > 4 ? argv[4] : "fp32"));
  ModelConfig config = parse_config("model: {emb_size: 256, enc_hidden: 256, dec_hidden: 512, bidirectional: true, "
                                    "attention: general, bridge: tanh, dropout: 0.2}", "bench").model;
  config.cell = cell;
  torch::manual_seed(0);
  Seq2Seq model(config, 7859, 5921);
  FusedAdam adam(model->parameters(), torch::optim::AdamOptions(1e-3));
  ParallelCorpus corpus;
  std::vector<int64_t> indices;
  for (int32_t i = 0; i < 64; ++i) {
    std::vector<int32_t> src, tgt{kSos};
    for (int32_t k = 0; k < 8 + (i * 7) % 11; ++k) src.push_back(4 + (i * 31 + k * 17) % 7000);
    for (int32_t k = 0; k < 9 + (i * 5) % 11; ++k) tgt.push_back(4 + (i * 13 + k * 29) % 5000);
    tgt.push_back(kEos);
    corpus.src.push_back(src);
    corpus.tgt.push_back(tgt);
    indices.push_back(i);
  }
  const Batch batch = collate(corpus.src, &corpus.tgt, indices);
  auto step = [&] {
    for (auto& parameter : model->parameters()) parameter.mutable_grad() = torch::Tensor();
    (translation_loss_sum(model, batch) / static_cast<double>(batch.target_tokens)).backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    adam.step();
  };
  constexpr int kSteps = 10;
  for (int i = 0; i < 5; ++i) step();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kSteps; ++i) step();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kSteps;

  namespace profiler = torch::autograd::profiler;
  profiler::enableProfiler(profiler::ProfilerConfig(torch::profiler::impl::ProfilerState::KINETO),
                           {torch::profiler::impl::ActivityType::CPU});
  for (int i = 0; i < kSteps; ++i) step();
  const auto result = profiler::disableProfiler();
  std::map<std::string, std::pair<int64_t, double>> totals;  // name -> calls, microseconds
  for (const auto& event : result->events()) {
    auto& total = totals[event.name()];
    total.first += 1;
    total.second += static_cast<double>(event.durationUs());
  }
  std::vector<std::pair<double, std::string>> by_time;
  for (const auto& [name, total] : totals)
    by_time.emplace_back(total.second / kSteps / 1000, name + " (" + std::to_string(total.first / kSteps) + " per step)");
  std::sort(by_time.rbegin(), by_time.rend());
  std::printf("%s, %s, %d threads: %.1f ms per step unprofiled, %ld target tokens, %.0f tokens/s\n", cell.c_str(),
              precision_name(current_precision()), torch::get_num_threads(), seconds * 1000, static_cast<long>(batch.target_tokens),
              static_cast<double>(batch.target_tokens) / seconds);
  for (size_t i = 0; i < std::min(rows, by_time.size()); ++i)
    std::printf("%9.2f ms  %s\n", by_time[i].first, by_time[i].second.c_str());
}
