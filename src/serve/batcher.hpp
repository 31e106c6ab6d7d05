// Dynamic batching: HTTP threads submit requests; one model thread takes the oldest request and
// the queued requests with the same decoding options, up to max_batch sentences, once the batch
// is full or the oldest has waited max_wait, and decodes them together.
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "search/translator.hpp"

namespace nmt {

using ServeClock = std::chrono::steady_clock;

// What a request asks of the search; only equal options share a batch.
struct DecodeOptions {
  int64_t beam_size = 1;
  int64_t nbest = 1;
  bool attention = false;
  bool operator==(const DecodeOptions& other) const {
    return beam_size == other.beam_size && nbest == other.nbest && attention == other.attention;
  }
};

struct QueueFull : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct DeadlineExceeded : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Batcher {
 public:
  using TranslateFunction =
      std::function<std::vector<Translation>(const std::vector<std::string>&, const DecodeOptions&)>;
  struct Limits {
    int64_t max_batch = 32;  // sentences
    std::chrono::microseconds max_wait{5000};
    int64_t queue_limit = 64;  // requests
  };
  // `on_batch` (optional) sees the sentence count of every batch decoded.
  Batcher(TranslateFunction translate, Limits limits, std::function<void(int64_t)> on_batch = {});
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // One translation per sentence, in order. Throws QueueFull when queue_limit requests wait; the
  // future holds DeadlineExceeded when the model reaches the request after its deadline.
  std::future<std::vector<Translation>> submit(std::vector<std::string> sentences, DecodeOptions options,
                                               ServeClock::time_point deadline);
  int64_t queue_depth() const;
  // Decodes what is queued, then ends the model thread. Later submits throw QueueFull.
  void stop();

 private:
  struct Job {
    std::vector<std::string> sentences;
    DecodeOptions options;
    ServeClock::time_point queued, deadline;
    std::promise<std::vector<Translation>> result;
  };
  void run();
  // The jobs of the next batch, taken from the queue (lock held).
  std::vector<Job> take_batch();
  int64_t matching_sentences(const DecodeOptions& options) const;

  TranslateFunction translate_;
  Limits limits_;
  std::function<void(int64_t)> on_batch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace nmt
