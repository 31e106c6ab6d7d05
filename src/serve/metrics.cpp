#include "serve/metrics.hpp"

#include <sstream>

namespace nmt {

void Histogram::observe(double value) {
  for (size_t i = 0; i < bounds_.size(); ++i)
    if (value <= bounds_[i]) ++counts_[i];
  ++count_;
  sum_ += value;
}

std::string Histogram::prometheus(const std::string& name) const {
  std::ostringstream out;
  for (size_t i = 0; i < bounds_.size(); ++i) out << name << "_bucket{le=\"" << bounds_[i] << "\"} " << counts_[i] << '\n';
  out << name << "_bucket{le=\"+Inf\"} " << count_ << '\n' << name << "_sum " << sum_ << '\n' << name << "_count " << count_ << '\n';
  return out.str();
}

ServerMetrics::ServerMetrics()
    : latency_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      batch_size_({1, 2, 4, 8, 16, 32, 64, 128, 256}) {}

void ServerMetrics::record_status(int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_by_status_[status];
}

void ServerMetrics::record_latency(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  latency_.observe(seconds);
}

void ServerMetrics::record_batch(int64_t sentences) {
  std::lock_guard<std::mutex> lock(mutex_);
  batch_size_.observe(static_cast<double>(sentences));
}

void ServerMetrics::record_translated(int64_t sentences, int64_t tokens) {
  std::lock_guard<std::mutex> lock(mutex_);
  sentences_ += sentences;
  tokens_ += tokens;
}

std::string ServerMetrics::prometheus(int64_t queue_depth) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;
  out << "# HELP nmt_requests_total HTTP requests answered, by status code.\n# TYPE nmt_requests_total counter\n";
  for (const auto& [status, count] : requests_by_status_) out << "nmt_requests_total{status=\"" << status << "\"} " << count << '\n';
  out << "# HELP nmt_request_seconds Time from a translation request's arrival to its answer.\n# TYPE nmt_request_seconds histogram\n"
      << latency_.prometheus("nmt_request_seconds")
      << "# HELP nmt_batch_sentences Sentences decoded together per batch.\n# TYPE nmt_batch_sentences histogram\n"
      << batch_size_.prometheus("nmt_batch_sentences")
      << "# HELP nmt_queue_depth Requests waiting for the model.\n# TYPE nmt_queue_depth gauge\n"
      << "nmt_queue_depth " << queue_depth << '\n'
      << "# HELP nmt_sentences_total Sentences translated.\n# TYPE nmt_sentences_total counter\n"
      << "nmt_sentences_total " << sentences_ << '\n'
      << "# HELP nmt_tokens_total Target tokens produced (best candidates).\n# TYPE nmt_tokens_total counter\n"
      << "nmt_tokens_total " << tokens_ << '\n';
  return out.str();
}

}  // namespace nmt
