// The server's counters for GET /metrics, in the Prometheus text format.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace nmt {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)), counts_(bounds_.size(), 0) {}
  void observe(double value);
  // The `name`_bucket/_sum/_count lines (cumulative buckets and +Inf).
  std::string prometheus(const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  double sum_ = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();
  void record_status(int status);
  void record_latency(double seconds);
  void record_batch(int64_t sentences);
  void record_translated(int64_t sentences, int64_t tokens);
  std::string prometheus(int64_t queue_depth) const;

 private:
  mutable std::mutex mutex_;
  std::map<int, int64_t> requests_by_status_;
  Histogram latency_, batch_size_;
  int64_t sentences_ = 0, tokens_ = 0;
};

}  // namespace nmt
