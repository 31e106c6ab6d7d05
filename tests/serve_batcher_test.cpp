// The dynamic batcher with a fake model: merging and splitting, the wait and the batch size,
// the queue limit, deadlines, and options that never share a batch.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "serve/batcher.hpp"

using namespace nmt;
using namespace std::chrono_literals;

namespace {

// Records every batch; translates a sentence into its own text with a marker of the options.
struct FakeModel {
  std::mutex mutex;
  std::vector<std::vector<std::string>> batches;
  std::vector<DecodeOptions> options;
  std::chrono::milliseconds delay{0};

  Batcher::TranslateFunction function() {
    return [this](const std::vector<std::string>& sentences, const DecodeOptions& decode) {
      std::this_thread::sleep_for(delay);
      {
        std::lock_guard<std::mutex> lock(mutex);
        batches.push_back(sentences);
        options.push_back(decode);
      }
      std::vector<Translation> out;
      for (const auto& sentence : sentences) {
        Translation translation;
        translation.candidates.push_back({sentence + "/" + std::to_string(decode.beam_size), {}, 0, {}});
        out.push_back(translation);
      }
      return out;
    };
  }
};

Batcher::Limits limits(int64_t max_batch, std::chrono::milliseconds wait, int64_t queue_limit = 64) {
  Batcher::Limits l;
  l.max_batch = max_batch;
  l.max_wait = wait;
  l.queue_limit = queue_limit;
  return l;
}

std::vector<std::string> texts(const std::vector<Translation>& translations) {
  std::vector<std::string> out;
  for (const auto& t : translations) out.push_back(t.candidates.front().text);
  return out;
}

const auto kFarDeadline = [] { return ServeClock::now() + 60s; };

}  // namespace

TEST(Batcher, MergesRequestsIntoOneBatchAndSplitsTheAnswersBackInOrder) {
  FakeModel model;
  Batcher batcher(model.function(), limits(32, 200ms));
  auto a = batcher.submit({"a1", "a2"}, {}, kFarDeadline());
  auto b = batcher.submit({"b1"}, {}, kFarDeadline());
  auto c = batcher.submit({"c1", "c2", "c3"}, {}, kFarDeadline());
  EXPECT_EQ(texts(a.get()), (std::vector<std::string>{"a1/1", "a2/1"}));
  EXPECT_EQ(texts(b.get()), (std::vector<std::string>{"b1/1"}));
  EXPECT_EQ(texts(c.get()), (std::vector<std::string>{"c1/1", "c2/1", "c3/1"}));
  ASSERT_EQ(model.batches.size(), 1u);
  EXPECT_EQ(model.batches[0], (std::vector<std::string>{"a1", "a2", "b1", "c1", "c2", "c3"}));
}

TEST(Batcher, WaitsAtMostMaxWaitForCompanyAndNoLongerThanItTakesToFillABatch) {
  FakeModel model;
  {
    Batcher batcher(model.function(), limits(4, 300ms));
    const auto start = ServeClock::now();
    batcher.submit({"x"}, {}, kFarDeadline()).get();
    const auto waited = ServeClock::now() - start;
    EXPECT_GE(waited, 290ms);  // alone, it waits the whole max_wait
    EXPECT_LT(waited, 2s);
  }
  {
    Batcher batcher(model.function(), limits(4, 5s));
    const auto start = ServeClock::now();
    auto first = batcher.submit({"1", "2"}, {}, kFarDeadline());
    auto second = batcher.submit({"3", "4"}, {}, kFarDeadline());  // fills the batch: no more waiting
    first.get();
    second.get();
    EXPECT_LT(ServeClock::now() - start, 2s);
  }
  // A batch never exceeds max_batch sentences; a request larger than a batch goes alone.
  model.batches.clear();
  {
    Batcher batcher(model.function(), limits(3, 200ms));
    std::vector<std::future<std::vector<Translation>>> results;
    results.push_back(batcher.submit({"a", "b"}, {}, kFarDeadline()));
    results.push_back(batcher.submit({"c", "d"}, {}, kFarDeadline()));
    results.push_back(batcher.submit({"e"}, {}, kFarDeadline()));
    results.push_back(batcher.submit({"f", "g", "h", "i", "j"}, {}, kFarDeadline()));
    for (auto& result : results) result.get();
  }
  // Which requests join whom depends on when the model thread wakes; the bounds do not.
  size_t sentences = 0;
  bool large_alone = false;
  for (const auto& batch : model.batches) {
    sentences += batch.size();
    if (batch.size() > 3) {
      EXPECT_EQ(batch, (std::vector<std::string>{"f", "g", "h", "i", "j"}));
    }
    large_alone |= batch == std::vector<std::string>{"f", "g", "h", "i", "j"};
  }
  EXPECT_TRUE(large_alone);
  EXPECT_EQ(sentences, 10u);
}

TEST(Batcher, AFullQueueRefusesAtOnce) {
  FakeModel model;
  model.delay = 500ms;  // the model is busy with the first batch
  Batcher batcher(model.function(), limits(1, 0ms, 2));
  auto busy = batcher.submit({"1"}, {}, kFarDeadline());
  std::this_thread::sleep_for(100ms);  // taken by the model thread: the queue is empty again
  auto queued1 = batcher.submit({"2"}, {}, kFarDeadline());
  auto queued2 = batcher.submit({"3"}, {}, kFarDeadline());
  EXPECT_EQ(batcher.queue_depth(), 2);
  const auto start = ServeClock::now();
  EXPECT_THROW(batcher.submit({"4"}, {}, kFarDeadline()), QueueFull);
  EXPECT_LT(ServeClock::now() - start, 50ms);
  EXPECT_EQ(texts(queued2.get()), (std::vector<std::string>{"3/1"}));
}

TEST(Batcher, ARequestPastItsDeadlineIsNotDecoded) {
  FakeModel model;
  model.delay = 300ms;
  Batcher batcher(model.function(), limits(1, 0ms));
  auto first = batcher.submit({"slow"}, {}, kFarDeadline());
  auto late = batcher.submit({"late"}, {}, ServeClock::now() + 50ms);
  EXPECT_EQ(texts(first.get()), (std::vector<std::string>{"slow/1"}));
  EXPECT_THROW(late.get(), DeadlineExceeded);
  for (const auto& batch : model.batches) EXPECT_NE(batch.front(), "late");
}

TEST(Batcher, RequestsWithDifferentOptionsNeverShareABatch) {
  FakeModel model;
  Batcher batcher(model.function(), limits(32, 200ms));
  DecodeOptions greedy, beam;
  beam.beam_size = 4;
  beam.nbest = 2;
  auto a = batcher.submit({"a"}, greedy, kFarDeadline());
  auto b = batcher.submit({"b"}, beam, kFarDeadline());
  auto c = batcher.submit({"c"}, greedy, kFarDeadline());
  EXPECT_EQ(texts(a.get()), (std::vector<std::string>{"a/1"}));
  EXPECT_EQ(texts(b.get()), (std::vector<std::string>{"b/4"}));
  EXPECT_EQ(texts(c.get()), (std::vector<std::string>{"c/1"}));
  ASSERT_EQ(model.batches.size(), 2u);
  for (size_t i = 0; i < model.batches.size(); ++i)
    for (const auto& sentence : model.batches[i])
      EXPECT_EQ(sentence == "b", model.options[i] == beam) << sentence;
}

TEST(Batcher, AModelErrorReachesEveryRequestOfItsBatchAndStopDrainsTheQueue) {
  std::atomic<int> calls{0};
  Batcher failing([&](const std::vector<std::string>&, const DecodeOptions&) -> std::vector<Translation> {
    ++calls;
    throw std::runtime_error("model broke");
  }, limits(8, 100ms));
  auto a = failing.submit({"a"}, {}, kFarDeadline());
  auto b = failing.submit({"b"}, {}, kFarDeadline());
  EXPECT_THROW(a.get(), std::runtime_error);
  EXPECT_THROW(b.get(), std::runtime_error);
  EXPECT_EQ(calls, 1);

  FakeModel model;
  auto batcher = std::make_unique<Batcher>(model.function(), limits(1, 0ms));
  std::vector<std::future<std::vector<Translation>>> results;
  for (int i = 0; i < 5; ++i) results.push_back(batcher->submit({std::to_string(i)}, {}, kFarDeadline()));
  batcher->stop();
  for (auto& result : results) EXPECT_EQ(result.wait_for(0s), std::future_status::ready);
  EXPECT_THROW(batcher->submit({"after"}, {}, kFarDeadline()), QueueFull);
}
