// What a run tells the user while it trains: one log line and metrics record per window of
// training.log_every steps, and the live progress bar between them.
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "train/progress_bar.hpp"

namespace nmt {

// h:mm:ss
std::string format_duration(double seconds);

class TrainingLog {
 public:
  // Where the run stands when a window closes.
  struct Position {
    int64_t epoch = 0, step = 0, total_steps = 0;  // total 0: unknown
    double lr = 0, elapsed = 0;                     // elapsed: training time of the whole run
    double budget_seconds = 0;                      // training.max_minutes; 0: none
    bool distributed = false;
  };

  void start();  // the first window opens
  // The loss stays on the device until the window closes: no step waits for the host.
  void add_step(const torch::Tensor& loss_sum, int64_t tokens);
  // Data-parallel runs: time spent agreeing on a step and finishing the gradient sums.
  void add_waits(double agree_seconds, double sum_seconds);
  // Redraws the progress bar (rank 0).
  void show(int64_t epoch, int64_t step, int64_t total_steps);
  void clear_bar();  // before any other log line
  // Logs the window's line, returns its metrics record, and opens the next window.
  nlohmann::json close_window(const Position& at);

 private:
  using Clock = std::chrono::steady_clock;
  torch::Tensor loss_;
  int64_t tokens_ = 0, steps_ = 0;
  double agree_seconds_ = 0, sum_seconds_ = 0;
  Clock::time_point start_;
  double last_loss_ = 0;
  ProgressBar bar_;
};

}  // namespace nmt
