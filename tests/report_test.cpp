#include <gtest/gtest.h>

#include "bundle/metrics_log.hpp"
#include "report/html_report.hpp"
#include "runtime/files.hpp"
#include "test_util.hpp"

using namespace nmt;

TEST(Report, ContainsCurveDataPointsAndHeatmap) {
  const auto dir = test::scratch_dir("r");
  test::write_file(dir + "/metrics.jsonl",
                   "{\"type\":\"train\",\"step\":50,\"loss\":4.5,\"ppl\":90.0}\n"
                   "{\"type\":\"train\",\"step\":100,\"loss\":3.25,\"ppl\":25.8}\n"
                   "{\"type\":\"valid\",\"step\":100,\"loss\":3.5,\"ppl\":33.1,\"bleu\":12.75,\"chrf\":40.5}\n");
  const auto metrics = read_metrics(dir + "/metrics.jsonl");
  ASSERT_EQ(metrics.size(), 3u);
  const std::string html = render_report("t <&>", metrics, {{{"ein", "hund"}, {"a", "dog", "</s>"}, {{0.9f, 0.1f}, {0.2f, 0.8f}, {0.5f, 0.5f}}}});
  EXPECT_NE(html.find("data-series='train loss' data-step='50' data-value='4.5'"), std::string::npos);
  EXPECT_NE(html.find("data-series='train loss' data-step='100' data-value='3.25'"), std::string::npos);
  EXPECT_NE(html.find("data-series='valid BLEU' data-step='100' data-value='12.75'"), std::string::npos);
  EXPECT_NE(html.find("data-series='valid chrF' data-step='100' data-value='40.5'"), std::string::npos);
  EXPECT_NE(html.find("data-series='valid ppl' data-step='100' data-value='33.1'"), std::string::npos);
  EXPECT_NE(html.find("fill-opacity='0.9'"), std::string::npos);
  EXPECT_NE(html.find("&lt;/s&gt;"), std::string::npos);
  EXPECT_NE(html.find("t &lt;&amp;&gt;"), std::string::npos);
  EXPECT_EQ(html.find("http://www.w3.org/2000/svg'") == std::string::npos, false);
  EXPECT_EQ(html.find("<script src"), std::string::npos);  // nothing fetched at view time
  EXPECT_EQ(html.find("<link"), std::string::npos);
}

TEST(MetricsLog, TornLinesAreSkippedAndResumeDropsRecordsPastTheCheckpoint) {
  const auto dir = test::scratch_dir("r");
  const std::string path = metrics_path(dir);
  // A killed run: records up to step 30, the checkpoint at 20, and a torn last line.
  test::write_file(path,
                   "{\"type\":\"train\",\"step\":10}\n{\"type\":\"valid\",\"step\":20}\n\n\"half\"\n"
                   "{\"type\":\"train\",\"step\":30}\n{\"type\":\"train\",\"st");
  const auto all = read_metrics(path);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2]["step"], 30);
  EXPECT_EQ(drop_metrics_after(path, 20), 3);  // step 30 and both torn lines
  const auto kept = read_metrics(path);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[1]["type"], "valid");
  EXPECT_EQ(read_text_file(path), "{\"type\":\"train\",\"step\":10}\n{\"type\":\"valid\",\"step\":20}\n");
  EXPECT_EQ(drop_metrics_after(path, 20), 0);
  EXPECT_EQ(drop_metrics_after(dir + "/missing.jsonl", 5), 0);
}
