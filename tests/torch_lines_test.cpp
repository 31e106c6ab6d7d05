// Models across the LibTorch lines nmt builds on: a model trained by an nmt built on the other
// line (NMT_OTHER_BINARY; scripts/test.sh --torch pip points a 2.x build at Debian's 1.13 one)
// scores and translates here as it does there, and the other way round.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tiny_training.hpp"

using namespace nmt;

namespace {

struct Reading {
  double loss = 0;
  std::string translations;
};

// `binary`'s loss on the toy test set and its greedy translations of it, for the model in `model_dir`.
Reading read_with(const std::string& binary, const Config& config, const std::string& model_dir) {
  std::string output;
  const std::string evaluate = binary + " --log-level warn evaluate --model " + model_dir + " --src " +
                               config.data.test.src + " --ref " + config.data.test.tgt + " --beam 1 --json";
  EXPECT_EQ(test::run_command(evaluate + " 2>&1", &output), 0) << evaluate << "\n" << output;
  Reading reading;
  const auto report = nlohmann::json::parse(output.substr(output.find('{')), nullptr, false);
  if (report.is_object() && report.contains("loss")) reading.loss = report["loss"].get<double>();
  const std::string translate = binary + " --log-level warn translate --model " + model_dir + " --beam 1 --input " +
                                config.data.test.src;
  EXPECT_EQ(test::run_command(translate + " 2>/dev/null", &reading.translations), 0) << translate;
  return reading;
}

}  // namespace

TEST(TorchLines, AModelTrainedOnEitherLineScoresAndTranslatesTheSameOnTheOther) {
  const std::string other = NMT_OTHER_BINARY;
  if (other.empty())
    GTEST_SKIP() << "no nmt built on another LibTorch line to compare with (scripts/test.sh --torch pip sets "
                    "NMT_OTHER_BINARY to build/nmt)";
  const auto dir = test::scratch_dir("lines");
  Config config = test::tiny_training_config(dir);
  config.training.max_steps = 30;
  config.training.valid_every = 30;
  preprocess(config, false);
  write_text_atomically(dir + "/config.yaml", dump_config(config));
  for (const auto& [trainer, name] : {std::pair{other, "other"}, std::pair{std::string(NMT_BINARY), "this"}}) {
    const std::string model_dir = dir + "/" + name;
    std::string output;
    ASSERT_EQ(test::run_command(trainer + " --log-level warn train --config " + dir + "/config.yaml --set training.dir=" +
                                    model_dir + " 2>&1",
                                &output),
              0)
        << output;
    const Reading here = read_with(NMT_BINARY, config, model_dir), there = read_with(other, config, model_dir);
    EXPECT_GT(here.loss, 0) << name;
    EXPECT_NEAR(here.loss, there.loss, 1e-4 * there.loss) << "trained by " << name;
    EXPECT_EQ(here.translations, there.translations) << "trained by " << name;
  }
}
