// The toy task with a tiny model, for tests that train: a few steps take well under a second each.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include "config/config.hpp"
#include "data/preprocess.hpp"
#include "runtime/files.hpp"
#include "test_util.hpp"
#include "train/trainer.hpp"

namespace nmt::test {

inline Config tiny_training_config(const std::string& dir) {
  Config config = load_config(source_path("configs/toy.yaml"),
                              {"model.emb_size=16", "model.enc_hidden=16", "model.dec_hidden=24", "model.dropout=0.3",
                               "training.batch_size=32", "training.max_steps=12", "training.valid_every=6",
                               "training.log_every=1", "training.valid_bleu=0", "training.early_stopping_metric=loss",
                               "training.precision=fp32",  // not auto: the same products on every CPU
                               "data.dir=" + dir + "/data", "training.dir=" + dir + "/model"});
  for (auto* path : {&config.data.train.src, &config.data.train.tgt, &config.data.valid.src, &config.data.valid.tgt,
                     &config.data.test.src, &config.data.test.tgt})
    *path = source_path(*path);
  return config;
}

// Preprocesses the toy data and trains the tiny model for `steps` steps, validating every `valid_every`.
inline Config trained_tiny_model(const std::string& dir, int64_t steps, int64_t valid_every) {
  Config config = tiny_training_config(dir);
  config.training.max_steps = steps;
  config.training.valid_every = valid_every;
  preprocess(config, false);
  EXPECT_EQ(train(config, {}), 0);
  return config;
}

// Trains `config` to step `first_steps`, then resumes it to its max_steps: the run in two halves.
inline void train_then_resume(Config config, int64_t first_steps) {
  const int64_t steps = config.training.max_steps;
  config.training.max_steps = first_steps;
  ASSERT_EQ(train(config, {}), 0);
  config.training.max_steps = steps;
  TrainOptions resume;
  resume.resume = true;
  ASSERT_EQ(train(config, resume), 0);
}

// Writes `config` to `config_path` and starts `nmt train` on it in a child process.
inline pid_t start_training_process(const Config& config, const std::string& config_path) {
  write_text_atomically(config_path, dump_config(config));
  const pid_t child = fork();
  if (child == 0) {
    execl(NMT_BINARY, NMT_BINARY, "train", "--config", config_path.c_str(), "--log-level", "warn",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return child;
}

}  // namespace nmt::test
