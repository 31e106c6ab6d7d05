// Where a bench-gru/bench-lstm training step spends its time, by LibTorch's profiler: the model,
// loss, clipping (folded into Adam) and Adam of `nmt train`, on one synthetic batch of bench shapes (64 pairs,
// sources of 8 to 18 tokens, targets of 9 to 19 plus EOS). Prints the unprofiled step time, its
// forward, backward, clipping and Adam parts, and the operators and autograd nodes by total time per
// step (inclusive, so nested entries overlap) or with `self` by their time outside their children.
//   ninja -C build nmt_step_profile && build/nmt_step_profile [gru|lstm] [threads] [rows] [fp32|bf16] [total|self]
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <array>
#include <map>
#include <tuple>

#include "config/config.hpp"
#include "data/batch.hpp"
#include "data/special_tokens.hpp"
#include "model/precision.hpp"
#include "model/seq2seq.hpp"
#include "runtime/environment.hpp"
#include "scoring/translation_loss.hpp"
#include "train/fused_adam.hpp"
#include "train/optimizer.hpp"

using namespace nmt;

int main(int argc, char** argv) {
  keep_freed_memory_in_heap();  // the allocator settings of nmt's main (glibc only)
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
  std::array<double, 4> phase_seconds{};  // forward, backward, clipping, Adam
  auto step = [&] {
    using clock = std::chrono::steady_clock;
    auto mark = clock::now();
    auto lap = [&](double& seconds) {
      const auto now = clock::now();
      seconds += std::chrono::duration<double>(now - mark).count();
      mark = now;
    };
    for (auto& parameter : model->parameters()) parameter.mutable_grad() = torch::Tensor();
    const auto loss = translation_loss_sum(model, batch) / static_cast<double>(batch.target_tokens);
    lap(phase_seconds[0]);
    loss.backward();
    lap(phase_seconds[1]);
    clip_gradient_norm(adam, model->parameters(), 1.0);  // as the trainer clips: folded into Adam's pass
    lap(phase_seconds[2]);
    adam.step();
    lap(phase_seconds[3]);
  };
  constexpr int kSteps = 10;
  for (int i = 0; i < 5; ++i) step();
  phase_seconds.fill(0);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kSteps; ++i) step();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kSteps;
  const auto phases = phase_seconds;  // before the profiled steps add theirs

  namespace profiler = torch::autograd::profiler;
  profiler::enableProfiler(profiler::ProfilerConfig(torch::profiler::impl::ProfilerState::KINETO),
                           {torch::profiler::impl::ActivityType::CPU});
  for (int i = 0; i < kSteps; ++i) step();
  const auto result = profiler::disableProfiler();
  // Self time: an event's duration less its direct children's, found by nesting on each thread.
  struct Span {
    std::string name;
    int64_t start, end;
    uint64_t thread;
  };
  std::vector<Span> spans;
  for (const auto& event : result->events())
    spans.push_back({event.name(), static_cast<int64_t>(event.startUs()),
                     static_cast<int64_t>(event.startUs() + event.durationUs()), event.startThreadId()});
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return std::tie(a.thread, a.start, b.end) < std::tie(b.thread, b.start, a.end);
  });
  std::map<std::string, std::array<double, 3>> totals;  // name -> calls, total and self microseconds
  std::vector<std::pair<const Span*, double>> open;     // enclosing spans and their children's time
  auto close = [&] {
    auto& total = totals[open.back().first->name];
    const double duration = static_cast<double>(open.back().first->end - open.back().first->start);
    total[0] += 1;
    total[1] += duration;
    total[2] += duration - open.back().second;
    open.pop_back();
    if (!open.empty()) open.back().second += duration;
  };
  for (const Span& span : spans) {
    while (!open.empty() && (open.back().first->thread != span.thread || open.back().first->end <= span.start)) close();
    open.push_back({&span, 0.0});
  }
  while (!open.empty()) close();
  const bool by_self = argc > 5 && std::string(argv[5]) == "self";
  std::vector<std::pair<double, std::string>> by_time;
  for (const auto& [name, total] : totals) {
    char line[64];
    std::snprintf(line, sizeof line, "%9.2f ms %s  ", (by_self ? total[1] : total[2]) / kSteps / 1000,
                  by_self ? "total" : "self");
    by_time.emplace_back((by_self ? total[2] : total[1]) / kSteps / 1000,
                         line + name + " (" + std::to_string(static_cast<int64_t>(total[0]) / kSteps) + " per step)");
  }
  std::sort(by_time.rbegin(), by_time.rend());
  std::printf("%s, %s, %d threads: %.1f ms per step unprofiled, %ld target tokens, %.0f tokens/s\n", cell.c_str(),
              precision_name(current_precision()), torch::get_num_threads(), seconds * 1000, static_cast<long>(batch.target_tokens),
              static_cast<double>(batch.target_tokens) / seconds);
  std::printf("  forward %.1f ms, backward %.1f ms, clipping %.1f ms, Adam %.1f ms\n", phases[0] * 1000 / kSteps,
              phases[1] * 1000 / kSteps, phases[2] * 1000 / kSteps, phases[3] * 1000 / kSteps);
  for (size_t i = 0; i < std::min(rows, by_time.size()); ++i)
    std::printf("%9.2f ms  %s\n", by_time[i].first, by_time[i].second.c_str());
}
