// A full disk, a crash between checkpoints, and a resume with nothing to resume: training stops
// with a clear message, leaves no temporary files, and resumes exactly.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bundle/checkpoint.hpp"
#include "bundle/metrics_log.hpp"
#include "bundle/model_dir.hpp"
#include "bundle/trained_model.hpp"
#include "config/config_error.hpp"
#include "data/corpus.hpp"
#include "data/vocab.hpp"
#include "runtime/files.hpp"
#include "test_util.hpp"
#include "tiny_training.hpp"

using namespace nmt;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> temporary_files(const std::string& dir) {
  std::vector<std::string> found;
  if (!fs::exists(dir)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp.") != std::string::npos) found.push_back(entry.path().string());
  return found;
}

std::string train_error(const Config& config, const TrainOptions& options) {
  try {
    train(config, options);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TrainOptions resuming() {
  TrainOptions options;
  options.resume = true;
  return options;
}

// The steps of the records of one type, in file order.
std::vector<int64_t> record_steps(const std::string& model_dir, const std::string& type) {
  std::vector<int64_t> steps;
  for (const auto& record : read_metrics(metrics_path(model_dir)))
    if (record["type"] == type) steps.push_back(record["step"]);
  return steps;
}

std::vector<int64_t> range(int64_t first, int64_t last, int64_t stride = 1) {
  std::vector<int64_t> values;
  for (int64_t v = first; v <= last; v += stride) values.push_back(v);
  return values;
}

}  // namespace

TEST(FullDisk, AFailedWriteAnywhereStopsTrainingCleanlyAndTheRunResumesBitIdentically) {
  const auto dir = test::scratch_dir("f");
  Config straight = test::tiny_training_config(dir + "/straight");
  straight.training.valid_every = 2;
  preprocess(straight, false);
  ASSERT_EQ(train(straight, {}), 0);
  const auto expected = test::train_losses(straight.training.dir);
  ASSERT_EQ(expected.size(), 12u);

  // The n-th write fails: config.yaml, a train.log line, a metrics record, a checkpoint or a pointer.
  for (int64_t n : {1, 2, 5, 9, 14, 20, 27, 35, 44}) {
    SCOPED_TRACE("write " + std::to_string(n));
    Config config = test::tiny_training_config(dir + "/run" + std::to_string(n));
    config.training.valid_every = 2;
    preprocess(config, false);
    fail_nth_write_for_testing(n, ENOSPC);
    const std::string error = train_error(config, {});
    fail_nth_write_for_testing(0, 0);
    EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;
    EXPECT_NE(error.find(config.training.dir), std::string::npos) << error;
    EXPECT_EQ(temporary_files(config.training.dir), std::vector<std::string>{});
    if (read_pointer(config.training.dir, "latest")) {
      EXPECT_NO_THROW(load_trained_model(config.training.dir, "", torch::kCPU));
    }
    if (!fs::exists(model_config_path(config.training.dir))) {
      // Failed before the run was set up: there is nothing to resume, and the message says so.
      EXPECT_NE(train_error(config, resuming()).find("nothing to resume"), std::string::npos);
      TrainOptions overwrite;
      overwrite.overwrite = true;
      ASSERT_EQ(train(config, overwrite), 0);
    } else {
      ASSERT_EQ(train(config, resuming()), 0);
    }
    const auto losses = test::train_losses(config.training.dir);
    EXPECT_EQ(losses, expected);
    EXPECT_EQ(record_steps(config.training.dir, "train"), range(1, 12));
    EXPECT_EQ(record_steps(config.training.dir, "valid"), range(2, 12, 2));
  }
}

TEST(FullDisk, TrainingOnAFullFilesystemExitsWithTheCauseAndResumesOnceSpaceIsFreed) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  const auto dir = test::scratch_dir("tmpfs");
  const std::string mount_point = dir + "/small";
  fs::create_directories(mount_point);
  if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=1m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mount_point};

  Config config = test::tiny_training_config(dir);
  config.training.dir = mount_point + "/model";
  config.training.max_steps = 200;
  config.training.valid_every = 2;
  config.training.keep_last = 1000;
  preprocess(config, false);
  const std::string config_path = dir + "/config.yaml";
  write_text_atomically(config_path, dump_config(config));
  std::string output;
  const int code = test::run_command(std::string(NMT_BINARY) + " train --config " + config_path, &output);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("No space left on device"), std::string::npos) << output;
  EXPECT_NE(output.find(config.training.dir), std::string::npos) << output;
  EXPECT_EQ(output.find("terminate called"), std::string::npos) << output;
  EXPECT_EQ(temporary_files(config.training.dir), std::vector<std::string>{});
  const auto latest = read_pointer(config.training.dir, "latest");
  ASSERT_TRUE(latest.has_value()) << output;
  const int64_t written = read_checkpoint_meta(*latest)["step"];
  EXPECT_GE(written, 2);
  EXPECT_LT(written, 200);

  // The other writers on the disk, filled to the last byte: each names its file and the cause.
  {
    std::ofstream filler(mount_point + "/filler", std::ios::binary);
    const std::string block(4096, 'x');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size())) && filler.flush()) {
    }
  }
  const std::string model = " --model " + config.training.dir + " --output " + mount_point;
  for (const auto& [command, file] : std::vector<std::pair<std::string, std::string>>{
           {"average" + model + "/averaged.pt --last 2", "/averaged.pt"}, {"report" + model + "/report.html", "/report.html"}}) {
    EXPECT_EQ(test::run_command(std::string(NMT_BINARY) + " " + command, &output), 1) << output;
    EXPECT_NE(output.find("cannot write '" + mount_point + file + "': No space left on device"), std::string::npos)
        << output;
  }
  EXPECT_EQ(temporary_files(mount_point), std::vector<std::string>{});
  fs::remove(mount_point + "/filler");

  // Space freed: the run goes on from its last checkpoint to the end.
  ASSERT_EQ(::mount("tmpfs", mount_point.c_str(), "tmpfs", MS_REMOUNT, "size=256m"), 0) << std::strerror(errno);
  ASSERT_EQ(test::run_command(std::string(NMT_BINARY) + " train --resume --config " + config_path, &output), 0) << output;
  EXPECT_NE(output.find("resumed from '" + *latest + "' at step " + std::to_string(written)), std::string::npos) << output;
  EXPECT_EQ(record_steps(config.training.dir, "train"), range(1, 200));
}

TEST(Resume, WithNoCheckpointYetStartsFromStepZeroAndWithNothingSaysWhatToRun) {
  const auto dir = test::scratch_dir("r");
  Config config = test::tiny_training_config(dir);
  preprocess(config, false);
  // A missing and an empty training.dir.
  EXPECT_NE(train_error(config, resuming()).find("nothing to resume in training.dir '" + config.training.dir +
                                                 "' (it does not exist): start the run without --resume"),
            std::string::npos);
  fs::create_directories(config.training.dir);
  EXPECT_NE(train_error(config, resuming()).find("(it is empty)"), std::string::npos);

  // A run killed before its first checkpoint: config.yaml and vocabularies, no checkpoint.
  ASSERT_EQ(train(config, {}), 0);
  const auto expected = test::train_losses(config.training.dir);
  fs::remove_all(checkpoint_dir(config.training.dir));
  fs::remove(config.training.dir + "/latest");
  fs::remove(config.training.dir + "/best");
  ASSERT_EQ(train(config, resuming()), 0);
  EXPECT_EQ(test::train_losses(config.training.dir), expected);
  EXPECT_EQ(record_steps(config.training.dir, "train"), range(1, 12));  // the old records are gone
}

TEST(Resume, AfterAKillBetweenCheckpointsTheMetricsHoldEachStepOnce) {
  const auto dir = test::scratch_dir("k");
  Config config = test::tiny_training_config(dir);
  config.training.max_steps = 60;
  config.training.valid_every = 10;
  preprocess(config, false);
  const pid_t child = test::start_training_process(config, dir + "/config.yaml");
  // Killed once step 13 is logged: after the checkpoint of step 10, well before that of step 20.
  const std::string metrics = metrics_path(config.training.dir);
  for (int i = 0; i < 6000; ++i) {
    if (fs::exists(metrics) && read_metrics(metrics).size() >= 14) break;  // 13 train records and one valid
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before it was killed";
  const int64_t checkpoint_step = read_checkpoint_meta(read_pointer(config.training.dir, "latest").value())["step"];
  const auto before = record_steps(config.training.dir, "train");
  ASSERT_FALSE(before.empty());
  EXPECT_GT(before.back(), checkpoint_step);  // records past the checkpoint, to be written again

  ASSERT_EQ(train(config, resuming()), 0);
  EXPECT_EQ(record_steps(config.training.dir, "train"), range(1, 60));
  EXPECT_EQ(record_steps(config.training.dir, "valid"), range(10, 60, 10));
}

// Inputs the fuzzers found (tests/fuzz/crashes/), each now an error naming the file or key.
TEST(DamagedInput, VocabularyCountThatIsNotANumberNamesFileAndLine) {
  const auto dir = test::scratch_dir("v");
  test::write_file(dir + "/vocab.tsv", "<pad>\t0\n<unk>\t0\n<s>\t0\n</s>\t0\nhundred\t17x\n");
  try {
    Vocab::load(dir + "/vocab.tsv");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/vocab.tsv:5: count '17x' is not a non-negative integer"),
              std::string::npos)
        << e.what();
  }
}

TEST(DamagedInput, EncodedCorpusWithDecreasingOffsetsOrFalseCountsIsRefused) {
  const auto dir = test::scratch_dir("c");
  {
    SequenceWriter writer(dir + "/ok.bin");
    writer.write(std::vector<int32_t>{4, 5, 6});
    writer.write(std::vector<int32_t>{7});
    writer.close();
  }
  const std::string bytes = read_text_file(dir + "/ok.bin");
  EXPECT_EQ(read_sequences(dir + "/ok.bin").tokens, (std::vector<int32_t>{4, 5, 6, 7}));
  auto refused = [&](std::string damaged) {
    test::write_file(dir + "/bad.bin", damaged);
    try {
      read_sequences(dir + "/bad.bin");
    } catch (const std::runtime_error& e) {
      return std::string(e.what()).find(dir + "/bad.bin") != std::string::npos;
    }
    return false;
  };
  // Header: 8 magic bytes, sentences, tokens; then the ids; then sentences + 1 offsets.
  std::string decreasing = bytes;
  decreasing[24 + 4 * 4 + 8] = 9;  // the middle offset (3) past the end (4)
  EXPECT_TRUE(refused(decreasing));
  std::string huge = bytes;
  huge[16 + 5] = 1;  // claims 2^40 tokens more than the file holds
  EXPECT_TRUE(refused(huge));
  EXPECT_TRUE(refused(bytes.substr(0, bytes.size() - 1)));
}

TEST(DamagedInput, OverrideIntoASectionThatIsNotAMappingNamesTheSection) {
  try {
    parse_config("training: 3\n", "c.yaml", {"training.max_steps=5"});
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("c.yaml:1: key 'training': expected a mapping"), std::string::npos) << e.what();
  }
}

TEST(DamagedInput, CheckpointWithFlippedBytesIsAnErrorNotACrash) {
  const auto dir = test::scratch_dir("d");
  const Config config = test::trained_tiny_model(dir, 2, 2);
  const std::string bytes = read_text_file(read_pointer(config.training.dir, "latest").value());
  // The crash reproducers from fuzzing, and a byte flipped at every 997th position of a real checkpoint.
  std::vector<std::string> damaged;
  for (const auto& entry : fs::directory_iterator(test::source_path("tests/fuzz/crashes/checkpoint")))
    damaged.push_back(read_text_file(entry.path().string()));
  for (size_t at = 100; at < bytes.size(); at += 997) {
    std::string flipped = bytes;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x5a);
    damaged.push_back(flipped);
  }
  const auto original = load_trained_model(config.training.dir, "", torch::kCPU).module().parameters();
  size_t refused = 0;
  for (const auto& file : damaged) {
    test::write_file(dir + "/damaged.pt", file);
    try {
      // Bytes outside every entry's data (zip padding, timestamps) may change: then the same weights load.
      auto loaded = load_trained_model(config.training.dir, dir + "/damaged.pt", torch::kCPU);
      const auto parameters = loaded.module().parameters();
      for (size_t i = 0; i < original.size(); ++i) EXPECT_TRUE(torch::equal(parameters[i], original[i]));
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(dir + "/damaged.pt"), std::string::npos) << e.what();
      ++refused;
    }
  }
  EXPECT_GT(refused, damaged.size() / 2);
}

TEST(DamagedInput, EncodedIdsOutsideTheVocabularyStopTrainingBeforeItStarts) {
  const auto dir = test::scratch_dir("ids");
  Config config = test::tiny_training_config(dir);
  preprocess(config, false);
  const std::string path = config.data.dir + "/train.src.bin";
  Sequences original = read_sequences(path);
  original.tokens[original.tokens.size() / 2] = 1000000;  // a corpus that belongs to another vocabulary
  {
    SequenceWriter writer(path);
    for (size_t i = 0; i < original.size(); ++i)
      writer.write(std::vector<int32_t>(original.data(i), original.data(i) + original.length(i)));
    writer.close();
  }
  const std::string error = train_error(config, {});
  EXPECT_NE(error.find("'" + path + "' holds token id 1000000, outside its vocabulary of"), std::string::npos) << error;
  EXPECT_NO_THROW(require_ids_in_vocabulary(original, 1000001, path));
  original.tokens[0] = -1;
  EXPECT_THROW(require_ids_in_vocabulary(original, 1000001, path), std::runtime_error);
}
