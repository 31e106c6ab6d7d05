#include <gtest/gtest.h>

#include "report/html_report.hpp"
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

TEST(Report, BadMetricsLineIsNamed) {
  const auto dir = test::scratch_dir("r");
  test::write_file(dir + "/metrics.jsonl", "{\"type\":\"train\"}\nnot json\n");
  try {
    read_metrics(dir + "/metrics.jsonl");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl:2"), std::string::npos);
  }
}
