#include "serve/batcher.hpp"

namespace nmt {

Batcher::Batcher(TranslateFunction translate, Limits limits, std::function<void(int64_t)> on_batch)
    : translate_(std::move(translate)), limits_(limits), on_batch_(std::move(on_batch)), thread_([this] { run(); }) {}

Batcher::~Batcher() { stop(); }

std::future<std::vector<Translation>> Batcher::submit(std::vector<std::string> sentences, DecodeOptions options,
                                                      ServeClock::time_point deadline) {
  Job job{std::move(sentences), options, ServeClock::now(), deadline, {}};
  auto future = job.result.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw QueueFull("the server is shutting down");
    if (static_cast<int64_t>(queue_.size()) >= limits_.queue_limit)
      throw QueueFull("the translation queue is full (" + std::to_string(limits_.queue_limit) + " requests)");
    queue_.push_back(std::move(job));
  }
  wake_.notify_all();
  return future;
}

int64_t Batcher::queue_depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(queue_.size());
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t Batcher::matching_sentences(const DecodeOptions& options) const {
  int64_t count = 0;
  for (const auto& job : queue_)
    if (job.options == options) count += static_cast<int64_t>(job.sentences.size());
  return count;
}

std::vector<Batcher::Job> Batcher::take_batch() {
  const DecodeOptions options = queue_.front().options;
  std::vector<Job> batch;
  int64_t sentences = 0;
  for (auto it = queue_.begin(); it != queue_.end();) {
    const auto size = static_cast<int64_t>(it->sentences.size());
    // The oldest request always goes, even when larger than a batch (the search splits it);
    // the others join while they fit, and only with the same options.
    if (it->options == options && (batch.empty() || sentences + size <= limits_.max_batch)) {
      sentences += size;
      batch.push_back(std::move(*it));
      it = queue_.erase(it);
      if (sentences >= limits_.max_batch) break;
    } else {
      ++it;
    }
  }
  return batch;
}

void Batcher::run() {
  for (;;) {
    std::vector<Job> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to decode
      const auto ready_at = queue_.front().queued + limits_.max_wait;
      wake_.wait_until(lock, ready_at, [&] {
        return stopping_ || matching_sentences(queue_.front().options) >= limits_.max_batch;
      });
      batch = take_batch();
    }
    std::vector<std::string> sentences;
    std::vector<Job*> live;
    const auto now = ServeClock::now();
    for (auto& job : batch) {
      if (job.deadline <= now) {
        job.result.set_exception(std::make_exception_ptr(DeadlineExceeded("the request's deadline passed in the queue")));
        continue;
      }
      live.push_back(&job);
      sentences.insert(sentences.end(), job.sentences.begin(), job.sentences.end());
    }
    if (live.empty()) continue;
    try {
      if (on_batch_) on_batch_(static_cast<int64_t>(sentences.size()));
      auto translations = translate_(sentences, live.front()->options);
      if (translations.size() != sentences.size())
        throw std::logic_error("the decoder returned " + std::to_string(translations.size()) + " translations for " +
                               std::to_string(sentences.size()) + " sentences");
      size_t next = 0;
      for (Job* job : live) {
        const auto end = next + job->sentences.size();
        job->result.set_value(std::vector<Translation>(std::make_move_iterator(translations.begin() + next),
                                                       std::make_move_iterator(translations.begin() + end)));
        next = end;
      }
    } catch (...) {
      for (Job* job : live) job->result.set_exception(std::current_exception());
    }
  }
}

}  // namespace nmt
