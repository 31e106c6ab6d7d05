#include <gtest/gtest.h>

#include <filesystem>

#include "config/config.hpp"
#include "data/corpus.hpp"
#include "data/data_dir.hpp"
#include "data/preprocess.hpp"
#include "test_util.hpp"

using namespace nmt;
namespace fs = std::filesystem;

namespace {
Config small_config(const std::string& dir) {
  test::write_file(dir + "/train.src", "a b c\nb c\n\nc d e f g h\n");
  test::write_file(dir + "/train.tgt", "x y\ny\nz\nx x x x x x x\n");
  test::write_file(dir + "/valid.src", "a z\n");
  test::write_file(dir + "/valid.tgt", "x q\n");
  Config config = parse_config("data: {tokenizer: {type: whitespace}, max_len: 5}", "test");
  config.data.train = {dir + "/train.src", dir + "/train.tgt"};
  config.data.valid = {dir + "/valid.src", dir + "/valid.tgt"};
  config.data.dir = dir + "/out";
  return config;
}

std::string error_of(const Config& config) {
  try {
    preprocess(config, false);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

bool only_inputs_left(const std::string& dir) {
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().rfind("out", 0) == 0) return false;
  return true;
}
}  // namespace

TEST(Preprocess, WritesVocabCorpusAndManifest) {
  const auto dir = test::scratch_dir("p");
  const Config config = small_config(dir);
  const auto manifest = preprocess(config, false);
  const auto& train = manifest["splits"]["train"];
  EXPECT_EQ(train["lines"], 4);
  EXPECT_EQ(train["sentences"], 3);
  EXPECT_EQ(train["dropped_empty"], 1);
  EXPECT_EQ(train["src"]["truncated"], 1);  // 6 tokens > max_len 5
  EXPECT_EQ(train["tgt"]["truncated"], 1);  // 7 tokens > max_len - 2
  EXPECT_EQ(train["src"]["tokens"], 3 + 2 + 5);
  EXPECT_EQ(train["src"]["length_percentiles"]["max"], 6);
  EXPECT_EQ(manifest["format_version"], kDataFormatVersion);
  EXPECT_EQ(manifest["config_hash"], data_config_hash(config));
  const auto& valid = manifest["splits"]["valid"];
  EXPECT_DOUBLE_EQ(valid["src"]["unk_rate"].get<double>(), 0.5);  // z never in train source

  const Vocabs vocabs = load_vocabs(config.data.dir);
  EXPECT_EQ(vocabs.src.token(4), "c");  // most frequent (3)
  const ParallelCorpus corpus = load_split(config.data.dir, "train", load_vocabs(config.data.dir));
  ASSERT_EQ(corpus.size(), 3u);
  EXPECT_EQ(corpus.src.length(2), 5);
  const std::vector<int32_t> long_target(corpus.tgt.data(2), corpus.tgt.data(2) + corpus.tgt.length(2));
  EXPECT_EQ(long_target, (std::vector<int32_t>{kSos, vocabs.tgt.id("x"), vocabs.tgt.id("x"), vocabs.tgt.id("x"), kEos}));
  EXPECT_TRUE(fs::exists(reference_path(config.data.dir, "valid")));
}

TEST(Preprocess, DropLongOnlyInTraining) {
  const auto dir = test::scratch_dir("p");
  Config config = small_config(dir);
  config.data.drop_long = true;
  const auto manifest = preprocess(config, false);
  EXPECT_EQ(manifest["splits"]["train"]["sentences"], 2);
  EXPECT_EQ(manifest["splits"]["train"]["dropped_long"], 1);
  EXPECT_EQ(manifest["splits"]["valid"]["sentences"], 1);
}

TEST(Preprocess, MissingFileNamesPathAndLeavesNothing) {
  const auto dir = test::scratch_dir("p");
  Config config = small_config(dir);
  config.data.valid.tgt = dir + "/nope.tgt";
  const auto message = error_of(config);
  EXPECT_NE(message.find("nope.tgt"), std::string::npos) << message;
  EXPECT_NE(message.find("data.valid.tgt"), std::string::npos) << message;
  EXPECT_TRUE(only_inputs_left(dir));
}

TEST(Preprocess, LineCountMismatchNamesBothFiles) {
  const auto dir = test::scratch_dir("p");
  Config config = small_config(dir);
  test::write_file(dir + "/train.tgt", "x\ny\n");
  const auto message = error_of(config);
  EXPECT_NE(message.find("train.src' has 4 lines"), std::string::npos) << message;
  EXPECT_NE(message.find("train.tgt' has 2"), std::string::npos) << message;
  EXPECT_TRUE(only_inputs_left(dir));
}

TEST(Preprocess, InvalidUtf8NamesFileAndLine) {
  const auto dir = test::scratch_dir("p");
  Config config = small_config(dir);
  test::write_file(dir + "/valid.src", "ok \xfe\n");
  const auto message = error_of(config);
  EXPECT_NE(message.find("valid.src:1: invalid UTF-8"), std::string::npos) << message;
  EXPECT_TRUE(only_inputs_left(dir));
}

TEST(Preprocess, EmptyTrainingSetIsAnError) {
  const auto dir = test::scratch_dir("p");
  Config config = small_config(dir);
  test::write_file(dir + "/train.src", "\n\n");
  test::write_file(dir + "/train.tgt", "a\n\n");
  const auto message = error_of(config);
  EXPECT_NE(message.find("training set is empty"), std::string::npos) << message;
  EXPECT_TRUE(only_inputs_left(dir));
}

TEST(Preprocess, RefusesDataDirFromOtherConfigUnlessForced) {
  const auto dir = test::scratch_dir("p");
  Config config = small_config(dir);
  preprocess(config, false);
  EXPECT_NO_THROW(preprocess(config, false));  // same config: rebuilt in place
  config.data.max_len = 9;
  EXPECT_NE(error_of(config).find("different data config"), std::string::npos);
  EXPECT_EQ(preprocess(config, true)["max_len"], 9);
}
