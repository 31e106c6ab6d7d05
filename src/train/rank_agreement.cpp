#include "train/rank_agreement.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "config/setting_changes.hpp"
#include "data/data_dir.hpp"
#include "runtime/files.hpp"

namespace nmt {

void root_first(ProcessGroup& group, const std::string& key, double timeout_seconds, const std::function<void()>& work) {
  if (!group.is_root()) {
    const std::string error = group.await(key, timeout_seconds, "waiting for rank 0");
    if (!error.empty()) throw std::runtime_error("rank 0 failed: " + error);
    return;
  }
  try {
    work();
  } catch (const std::exception& e) {
    group.publish(key, e.what(), ProcessGroup::Delivery::confirmed);
    throw;
  }
  group.publish(key, "");
}

void check_same_setup(ProcessGroup& group, const Config& config) {
  Config shared = config;
  shared.distributed.interface.clear();  // each host names its own network interface
  std::string setup = dump_config(shared);
  for (const auto& side : vocab_sides(config.task)) {
    const std::string path = vocab_path(config.data.dir, side);
    setup += "vocabulary " + side + ": " + (std::filesystem::exists(path) ? fnv1a_hex(read_text_file(path)) : "missing") + "\n";
  }
  if (group.is_root()) group.publish("setup", setup);
  const std::string reference =
      group.is_root() ? setup : group.await("setup", config.distributed.rendezvous_timeout_seconds, "reading rank 0's setup");
  std::string difference;
  for (const auto& change : changed_settings(reference, setup))
    difference += fmt::format("{}{} '{}' where rank 0 has '{}'", difference.empty() ? "" : "; ",
                              change.section.empty() ? "" : change.section, change.after, change.before);
  if (!difference.empty()) group.publish("setup/" + std::to_string(group.rank()), difference);
  auto differs = torch::zeros({group.size()}, torch::kLong);
  differs[group.rank()] = difference.empty() ? 0 : 1;
  group.allreduce(differs, ProcessGroup::Op::sum, "comparing the ranks' configs");
  if (differs.sum().item<int64_t>() == 0) return;
  if (!group.is_root())
    throw std::runtime_error(difference.empty() ? "another rank's config or vocabularies differ from rank 0's (rank 0 names them)"
                                                : "this rank's config or vocabularies differ from rank 0's: " + difference);
  std::string report;
  for (int rank = 1; rank < group.size(); ++rank)
    if (differs[rank].item<int64_t>())
      report += fmt::format("\n  rank {}: {}", rank,
                            group.await("setup/" + std::to_string(rank), 10, "reading a rank's config difference"));
  throw std::runtime_error("the ranks' configs or vocabularies differ from rank 0's (" + config.source_path + "):" + report);
}

void check_parameters_agree(ProcessGroup& group, torch::nn::Module& model, const char* when) {
  if (group.size() == 1) return;
  uint64_t hash = kFnv1aOffset;
  int64_t count = 0;
  for (const auto& parameter : model.parameters()) {
    const auto values = parameter.detach().to(torch::kCPU).contiguous();
    hash = fnv1a(values.data_ptr(), values.nbytes(), hash);
    count += parameter.numel();
  }
  const int64_t signed_hash = static_cast<int64_t>(hash >> 1);
  auto low = torch::tensor({count, signed_hash}), high = low.clone();
  group.allreduce(low, ProcessGroup::Op::min, "comparing parameters");
  group.allreduce(high, ProcessGroup::Op::max, "comparing parameters");
  if (low.equal(high)) {
    spdlog::info("the {} ranks' parameters agree {}", group.size(), when);
    return;
  }
  group.fail("comparing parameters",
             low[0].item<int64_t>() != high[0].item<int64_t>()
                 ? fmt::format("the ranks' models differ in size ({} to {} parameters) {}", low[0].item<int64_t>(),
                               high[0].item<int64_t>(), when)
                 : fmt::format("the ranks' parameters no longer agree {}", when));
}

StepAgreement agree_on_step(ProcessGroup& group, int64_t tokens, bool budget_spent, double training_seconds,
                            int stop_signal) {
  // [batch tokens, rank 0's budget verdict, rank 0's training time in microseconds, one
  // stop-signal slot per rank].
  constexpr int kSlots = 3;
  auto meta = torch::zeros({kSlots + group.size()}, torch::kLong);
  auto* values = meta.data_ptr<int64_t>();
  values[0] = tokens;
  if (group.is_root()) {
    values[1] = budget_spent;
    values[2] = static_cast<int64_t>(training_seconds * 1e6);
  }
  values[kSlots + group.rank()] = stop_signal;
  const auto start = std::chrono::steady_clock::now();
  group.allreduce(meta, ProcessGroup::Op::sum, "agreeing on the next step");
  StepAgreement agreed{values[0], 0, values[1] != 0, static_cast<double>(values[2]) / 1e6,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
  for (int rank = 0; rank < group.size() && !agreed.stop_signal; ++rank)
    agreed.stop_signal = static_cast<int>(values[kSlots + rank]);
  return agreed;
}

}  // namespace nmt
