// TensorBoard event files: the CRC that TFRecord readers check, the scalars of a metrics record, and a
// run's metrics as TensorBoard's own reader sees them after a resume from an earlier checkpoint.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "bundle/metrics_log.hpp"
#include "bundle/model_dir.hpp"
#include "report/tensorboard_events.hpp"
#include "tiny_training.hpp"

using namespace nmt;

namespace {

using Points = std::map<std::string, std::vector<std::pair<int64_t, double>>>;

// The scalars that TensorBoard's reader (tests/requirements.txt, scripts/install-test-tools.sh)
// finds in `dir`, by tag.
Points tensorboard_scalars(const std::string& dir) {
  const char* venv = std::getenv("NMT_TEST_VENV");
  const std::string python =
      (venv ? std::string(venv) : std::string(std::getenv("HOME")) + "/.cache/nmt/tests-venv") + "/bin/python";
  if (!std::filesystem::exists(python)) {
    ADD_FAILURE() << python << " is missing: scripts/install-test-tools.sh installs TensorBoard's reader";
    return {};
  }
  std::string output;
  const std::string errors = dir + ".stderr";
  const int status = test::run_command(
      python + " " + test::source_path("tests/tensorboard/read_scalars.py") + " " + dir + " 2>" + errors, &output);
  if (status != 0) {
    std::ifstream error_text(errors);
    ADD_FAILURE() << "read_scalars.py failed (" << status << "): " << output << error_text.rdbuf();
    return {};
  }
  Points points;
  const auto parsed = nlohmann::json::parse(output);  // items() refers into it
  for (const auto& [tag, series] : parsed.items())
    for (const auto& point : series) points[tag].emplace_back(point[0].get<int64_t>(), point[1].get<double>());
  return points;
}

}  // namespace

TEST(TensorBoard, MaskedCrcIsTheCrc32cThatTfRecordReadersCheck) {
  if (!tensorboard_available()) GTEST_SKIP() << "built without TensorBoard support";
  const uint32_t crc32c = 0xE3069283u;  // CRC-32C's check value: the CRC of "123456789"
  EXPECT_EQ(tfrecord_masked_crc("123456789"), ((crc32c >> 15) | (crc32c << 17)) + 0xa282ead8u);
  EXPECT_NE(tfrecord_masked_crc("123456789"), tfrecord_masked_crc("123456780"));
}

TEST(TensorBoard, ARecordsNumbersAreScalarsTaggedByItsType) {
  const auto record = nlohmann::json::parse(
      R"({"type":"valid","step":600,"loss":2.5,"bleu":31.25,"epoch":3,"checkpoint":"ckpt-600.pt","best":true})");
  const Scalars expected{{"valid/bleu", 31.25f}, {"valid/epoch", 3.0f}, {"valid/loss", 2.5f}};
  EXPECT_EQ(scalars_of(record), expected);
}

TEST(TensorBoard, AnUnwritableDirectoryIsAnErrorNamingIt) {
  if (!tensorboard_available()) GTEST_SKIP() << "built without TensorBoard support";
  const auto dir = test::scratch_dir("tb");
  test::write_file(dir + "/file", "not a directory");
  try {
    TensorBoardWriter writer(dir + "/file/tensorboard", 0);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/file/tensorboard"), std::string::npos) << e.what();
  }
}

// The first run trains to step 12; the second resumes from step 6's checkpoint and writes steps 7 to 12
// again. TensorBoard must show each record of metrics.jsonl once, with the second run's values.
TEST(TensorBoard, TensorBoardReadsEachMetricOnceAfterAResumeFromAnEarlierCheckpoint) {
  if (!tensorboard_available()) GTEST_SKIP() << "built without TensorBoard support";
  const auto dir = test::scratch_dir("tb");
  Config config = test::tiny_training_config(dir);
  config.training.tensorboard = true;
  preprocess(config, false);
  ASSERT_EQ(train(config, {}), 0);
  TrainOptions resume;
  resume.resume = true;
  resume.resume_from = checkpoint_file(config.training.dir, 6);
  ASSERT_EQ(train(config, resume), 0);

  const std::string events = config.training.dir + "/tensorboard";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(events))
    files += entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  EXPECT_EQ(files, 2);

  Points expected;
  for (const auto& record : read_metrics(metrics_path(config.training.dir)))
    for (const auto& [tag, value] : scalars_of(record)) expected[tag].emplace_back(record["step"].get<int64_t>(), value);
  ASSERT_EQ(expected["train/loss"].size(), 12u);
  ASSERT_EQ(expected["valid/loss"].size(), 2u);
  const Points seen = tensorboard_scalars(events);
  ASSERT_EQ(seen.size(), expected.size());
  for (const auto& [tag, points] : expected) {
    ASSERT_TRUE(seen.count(tag)) << tag;
    const auto& shown = seen.at(tag);
    ASSERT_EQ(shown.size(), points.size()) << tag;
    for (size_t i = 0; i < points.size(); ++i) {
      EXPECT_EQ(shown[i].first, points[i].first) << tag;
      EXPECT_FLOAT_EQ(static_cast<float>(shown[i].second), static_cast<float>(points[i].second)) << tag;
    }
  }
}
