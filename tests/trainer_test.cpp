#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "bundle/checkpoint.hpp"
#include "bundle/model_dir.hpp"
#include "bundle/trained_model.hpp"
#include "config/config.hpp"
#include "data/preprocess.hpp"
#include "runtime/files.hpp"
#include "test_util.hpp"
#include "tiny_training.hpp"
#include "train/average.hpp"
#include "train/parameter_average.hpp"
#include "train/trainer.hpp"

using namespace nmt;
using nmt::test::tiny_training_config;
using nmt::test::trained_tiny_model;
namespace fs = std::filesystem;

namespace {
std::string resume_error(const Config& config) {
  try {
    TrainOptions options;
    options.resume = true;
    train(config, options);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
}  // namespace

namespace {
// Trains 12 steps in one run and in two (6, then resumed to 12, with `resumed_ema_decay`), and
// returns both training directories.
std::pair<Config, Config> straight_and_resumed_runs(const std::string& dir, double ema_decay, double resumed_ema_decay) {
  Config full = tiny_training_config(dir + "/full");
  full.training.ema_decay = ema_decay;
  preprocess(full, false);
  EXPECT_EQ(train(full, {}), 0);

  Config part = tiny_training_config(dir + "/part");
  part.training.ema_decay = ema_decay;
  preprocess(part, false);
  part.training.max_steps = 6;
  EXPECT_EQ(train(part, {}), 0);
  EXPECT_EQ(read_pointer(part.training.dir, "latest").value(), checkpoint_file(part.training.dir, 6));
  part.training.max_steps = 12;
  part.training.ema_decay = resumed_ema_decay;
  TrainOptions resume;
  resume.resume = true;
  EXPECT_EQ(train(part, resume), 0);
  return {full, part};
}

void expect_same_losses(const Config& expected_run, const Config& run) {
  const auto expected = test::train_losses(expected_run.training.dir), resumed = test::train_losses(run.training.dir);
  ASSERT_EQ(expected.size(), 12u);
  ASSERT_EQ(resumed.size(), 12u);
  for (int64_t step = 1; step <= 12; ++step) EXPECT_EQ(expected.at(step), resumed.at(step)) << "step " << step;
}

std::vector<torch::Tensor> checkpoint_parameters(const Config& config, int64_t step) {
  return load_trained_model(config.training.dir, checkpoint_file(config.training.dir, step), torch::kCPU).translation_model()->parameters();
}

}  // namespace

TEST(Trainer, ResumeIsBitIdentical) {
  const auto [full, part] = straight_and_resumed_runs(test::scratch_dir("t"), 0, 0);
  expect_same_losses(full, part);
}

TEST(Trainer, ResumeWithAWeightAverageIsBitIdenticalAndCheckpointsHoldTheAverage) {
  const auto dir = test::scratch_dir("ema");
  const auto [full, part] = straight_and_resumed_runs(dir + "/on", 0.9, 0.9);
  expect_same_losses(full, part);
  const auto expected = checkpoint_parameters(full, 12), resumed = checkpoint_parameters(part, 12);
  ASSERT_EQ(expected.size(), resumed.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_TRUE(torch::equal(expected[i], resumed[i])) << i;

  // The model entry is the average; the live weights are stored beside it and differ from it.
  TrainedModel loaded = load_trained_model(full.training.dir, checkpoint_file(full.training.dir, 12), torch::kCPU);
  const auto content = load_checkpoint(checkpoint_file(full.training.dir, 12), *loaded.translation_model(), nullptr, loaded.meta);
  EXPECT_EQ(content.meta["average_updates"], 12);
  const auto live = content.training_weights;
  ASSERT_FALSE(live.empty());
  Config plain = tiny_training_config(dir + "/plain");
  preprocess(plain, false);
  ASSERT_EQ(train(plain, {}), 0);
  expect_same_losses(plain, full);  // averaging does not change what training sees
  const auto plain_final = checkpoint_parameters(plain, 12);
  load_named_parameters(*loaded.translation_model(), live, "test");
  const auto live_parameters = loaded.translation_model()->parameters();
  bool average_differs = false;
  for (size_t i = 0; i < plain_final.size(); ++i) {
    EXPECT_TRUE(torch::equal(live_parameters[i], plain_final[i])) << i;
    average_differs = average_differs || !torch::equal(expected[i], plain_final[i]);
  }
  EXPECT_TRUE(average_differs);

  // Resuming without averaging continues from the live weights.
  const auto [unused, dropped] = straight_and_resumed_runs(dir + "/dropped", 0.9, 0);
  expect_same_losses(full, dropped);
}

TEST(ParameterAverage, FollowsTheBiasCorrectedMovingAverageAndSwapsBack) {
  torch::nn::Linear layer(2, 1);
  const double decay = 0.5;
  ParameterAverage average(*layer, decay);
  const std::vector<float> values = {1, 5, -3};
  for (float value : values) {
    torch::NoGradGuard no_grad;
    for (auto& parameter : layer->parameters()) parameter.fill_(value);
    average.update();
  }
  // (1-d) * sum_k d^(n-k) v_k / (1 - d^n) with d = 0.5: (0.25 * 1 + 0.5 * 5 + 1 * -3) * 0.5 / 0.875
  const float expected = (0.25f * 1 + 0.5f * 5 - 3) * 0.5f / 0.875f;
  {
    const AveragedWeightsScope averaged(&average);
    const AveragedWeightsScope nested(&average);  // a no-op: the average is already in
    for (const auto& parameter : layer->parameters())
      EXPECT_TRUE(torch::allclose(parameter, torch::full_like(parameter, expected))) << parameter;
    EXPECT_EQ(average.live_weights().size(), 2u);
    EXPECT_TRUE(average.live_weights().count("weight"));
  }
  for (const auto& parameter : layer->parameters()) EXPECT_TRUE(torch::equal(parameter, torch::full_like(parameter, -3)));
  EXPECT_EQ(average.updates(), 3);
}

TEST(Trainer, RefusesIncompatibleResumeAndDirtyDirectory) {
  const auto dir = test::scratch_dir("t");
  Config config = tiny_training_config(dir);
  config.training.max_steps = 2;
  preprocess(config, false);
  ASSERT_EQ(train(config, {}), 0);
  try {
    train(config, {});
    FAIL() << "a fresh run in a non-empty training.dir must be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--overwrite"), std::string::npos);
  }
  Config wider = config;
  wider.model.emb_size = 32;
  const std::string error = resume_error(wider);
  EXPECT_NE(error.find("the model section differs"), std::string::npos) << error;
  EXPECT_NE(error.find("model.emb_size: '16' vs '32'"), std::string::npos) << error;
  Config other_vocab = config;
  other_vocab.data.vocab.max_size = 50;
  preprocess(other_vocab, true);
  EXPECT_NE(resume_error(other_vocab).find("vocabulary"), std::string::npos);
}

TEST(Checkpoint, AtomicWriteKeepsPreviousFileOnFailure) {
  const auto dir = test::scratch_dir("c");
  const std::string path = dir + "/file";
  write_text_atomically(path, "old content");
  EXPECT_THROW(write_file_atomically(path,
                                     [](const std::string& tmp) {
                                       std::ofstream(tmp) << "half a checkp";
                                       throw std::runtime_error("injected: no space left on device");
                                     }),
               std::runtime_error);
  EXPECT_EQ(read_text_file(path), "old content");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);  // no temporary left
}

TEST(Checkpoint, FailedSaveLeavesLatestValidAndCorruptFilesAreReported) {
  const auto dir = test::scratch_dir("c");
  const Config config = trained_tiny_model(dir, 2, 2);
  const std::string latest = read_pointer(config.training.dir, "latest").value();
  TrainedModel loaded = load_trained_model(config.training.dir, "", torch::kCPU);
  // A save into an unwritable place fails cleanly and does not touch the existing checkpoint.
  EXPECT_THROW(save_checkpoint(dir + "/no/such/dir/ckpt.pt", *loaded.translation_model(), nullptr, loaded.meta), std::runtime_error);
  EXPECT_NO_THROW(load_trained_model(config.training.dir, latest, torch::kCPU));
  // A truncated checkpoint gives a clear error.
  const std::string truncated = dir + "/truncated.pt";
  const std::string bytes = read_text_file(latest);
  test::write_file(truncated, bytes.substr(0, bytes.size() / 2));
  try {
    load_trained_model(config.training.dir, truncated, torch::kCPU);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
  }
  // A checkpoint from another vocabulary is refused.
  Vocab::build({{"other", 3}}, 1, 0).save(config.training.dir + "/vocab.tgt.tsv");
  try {
    load_trained_model(config.training.dir, latest, torch::kCPU);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("tgt_vocab_hash"), std::string::npos) << e.what();
  }
}

TEST(Trainer, SigtermWritesResumableCheckpoint) {
  const auto dir = test::scratch_dir("s");
  Config config = tiny_training_config(dir);
  preprocess(config, false);
  config.training.max_steps = 100000;
  config.training.valid_every = 100000;
  const pid_t child = test::start_training_process(config, dir + "/config.yaml");
  const std::string metrics = config.training.dir + "/metrics.jsonl";
  for (int i = 0; i < 600 && (!fs::exists(metrics) || fs::file_size(metrics) == 0); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_GT(fs::file_size(metrics), 0u);
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  const auto latest = read_pointer(config.training.dir, "latest");
  ASSERT_TRUE(latest.has_value());
  const int64_t stopped_at = read_checkpoint_meta(*latest)["step"];
  EXPECT_GT(stopped_at, 0);
  config.training.max_steps = stopped_at + 3;
  TrainOptions resume;
  resume.resume = true;
  ASSERT_EQ(train(config, resume), 0);
  EXPECT_EQ(read_checkpoint_meta(read_pointer(config.training.dir, "latest").value())["step"], stopped_at + 3);
}

TEST(Trainer, TimeBudgetStopsWithACheckpointAndCountsAcrossResumes) {
  const auto dir = test::scratch_dir("budget");
  Config config = tiny_training_config(dir);
  preprocess(config, false);
  config.training.max_steps = 1000000;
  config.training.max_epochs = 0;
  config.training.valid_every = 5;
  config.training.max_minutes = 1.5 / 60;  // 1.5 s
  ASSERT_EQ(train(config, {}), 0);
  const auto latest = read_pointer(config.training.dir, "latest");
  ASSERT_TRUE(latest.has_value());
  const auto meta = read_checkpoint_meta(*latest);
  const int64_t stopped_at = meta["step"];
  EXPECT_GT(stopped_at, 0);
  EXPECT_LT(stopped_at, 1000000);
  const double seconds = meta["training_seconds"];
  EXPECT_GT(seconds, 0.5);
  EXPECT_LT(seconds, 1.5 + 5.0);  // one step and the final validation past the budget, even on a loaded machine
  // The time of earlier runs counts: resuming with a budget below it trains no further step.
  config.training.max_minutes = seconds / 2 / 60;
  TrainOptions resume;
  resume.resume = true;
  ASSERT_EQ(train(config, resume), 0);
  EXPECT_EQ(read_checkpoint_meta(read_pointer(config.training.dir, "latest").value())["step"], stopped_at);
}

TEST(Average, IdenticalCheckpointsGiveTheInputAndTwoGiveTheirMean) {
  const auto dir = test::scratch_dir("a");
  const Config config = trained_tiny_model(dir, 4, 2);
  const std::string first = checkpoint_file(config.training.dir, 2), second = checkpoint_file(config.training.dir, 4);
  average_checkpoints(config.training.dir, {second, second}, dir + "/same.pt");
  average_checkpoints(config.training.dir, {first, second}, dir + "/mean.pt");
  auto a = load_trained_model(config.training.dir, first, torch::kCPU), b = load_trained_model(config.training.dir, second, torch::kCPU);
  auto same = load_trained_model(config.training.dir, dir + "/same.pt", torch::kCPU);
  auto mean = load_trained_model(config.training.dir, dir + "/mean.pt", torch::kCPU);
  const auto pa = a.translation_model()->parameters(), pb = b.translation_model()->parameters();
  const auto ps = same.translation_model()->parameters(), pm = mean.translation_model()->parameters();
  ASSERT_EQ(pa.size(), pm.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(torch::equal(ps[i], pb[i])) << i;
    EXPECT_TRUE(torch::allclose(pm[i], (pa[i] + pb[i]) / 2, 1e-6, 1e-7)) << i;
  }
  EXPECT_FALSE(torch::equal(pa[0], pb[0]));  // the two inputs really differ
  EXPECT_EQ(select_checkpoints(config.training.dir, "last", 1), std::vector<std::string>{second});
}

TEST(Trainer, KeepLastAndKeepBestPruneCheckpoints) {
  const auto dir = test::scratch_dir("k");
  Config config = tiny_training_config(dir);
  config.training.max_steps = 10;
  config.training.valid_every = 2;
  config.training.keep_last = 2;
  config.training.keep_best = 1;
  preprocess(config, false);
  ASSERT_EQ(train(config, {}), 0);
  const auto steps = checkpoint_steps(config.training.dir);
  const std::string best = read_pointer(config.training.dir, "best").value();
  ASSERT_TRUE(fs::exists(best));
  // The two newest, plus the best when it is older than those.
  EXPECT_EQ(steps[0], 10);
  EXPECT_EQ(steps[1], 8);
  const bool best_is_recent = best == checkpoint_file(config.training.dir, 10) || best == checkpoint_file(config.training.dir, 8);
  EXPECT_EQ(steps.size(), best_is_recent ? 2u : 3u);
  EXPECT_EQ(read_pointer(config.training.dir, "latest").value(), checkpoint_file(config.training.dir, 10));
}
