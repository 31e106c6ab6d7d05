#include "train/training_log.hpp"

#include <spdlog/spdlog.h>

#include <cmath>

namespace nmt {

std::string format_duration(double seconds) {
  const auto total = static_cast<int64_t>(seconds);
  char text[32];
  std::snprintf(text, sizeof(text), "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  return text;
}

void TrainingLog::start() { start_ = Clock::now(); }

void TrainingLog::add_step(const torch::Tensor& loss_sum, int64_t tokens) {
  loss_ = loss_.defined() ? loss_ + loss_sum : loss_sum;
  tokens_ += tokens;
  ++steps_;
}

void TrainingLog::add_waits(double agree_seconds, double sum_seconds) {
  agree_seconds_ += agree_seconds;
  sum_seconds_ += sum_seconds;
}

void TrainingLog::show(int64_t epoch, int64_t step, int64_t total_steps) {
  bar_.update(step, total_steps,
              fmt::format("epoch {} step {} | loss {:.3f} | {:.0f} tok/s", epoch + 1, step, last_loss_,
                          tokens_ / std::max(1e-9, std::chrono::duration<double>(Clock::now() - start_).count())));
}

void TrainingLog::clear_bar() { bar_.clear(); }

nlohmann::json TrainingLog::close_window(const Position& at) {
  bar_.clear();
  const double loss = loss_.item<double>() / static_cast<double>(std::max<int64_t>(1, tokens_));
  const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  const double tokens_per_second = tokens_ / std::max(seconds, 1e-9);
  const double seconds_per_step = seconds / static_cast<double>(std::max<int64_t>(1, steps_));
  double eta = at.total_steps > 0 ? seconds_per_step * static_cast<double>(at.total_steps - at.step) : 0;
  if (at.budget_seconds > 0) eta = std::min(eta, std::max(0.0, at.budget_seconds - at.elapsed));
  spdlog::info("epoch {} step {}{} | loss {:.4f} ppl {:.2f} | lr {:.3g} | {:.0f} tok/s | elapsed {} eta {}", at.epoch + 1,
               at.step, at.total_steps > 0 ? "/" + std::to_string(at.total_steps) : "", loss,
               std::exp(std::min(loss, 100.0)), at.lr, tokens_per_second, format_duration(at.elapsed),
               at.total_steps > 0 ? format_duration(eta) : "?");
  nlohmann::json record = {{"type", "train"}, {"step", at.step}, {"epoch", at.epoch + 1}, {"loss", loss},
                           {"ppl", std::exp(std::min(loss, 100.0))}, {"lr", at.lr}, {"tokens", tokens_},
                           {"seconds", seconds}, {"tokens_per_sec", tokens_per_second}, {"elapsed", at.elapsed}};
  if (at.distributed) {
    record["agree_seconds"] = agree_seconds_;
    record["gradient_sum_seconds"] = sum_seconds_;
  }
  agree_seconds_ = sum_seconds_ = 0;
  loss_ = torch::Tensor();
  tokens_ = steps_ = 0;
  start_ = Clock::now();
  last_loss_ = loss;
  return record;
}

}  // namespace nmt
