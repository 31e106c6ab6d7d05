// The Multi30k recipe script end to end on a tiny stand-in corpus laid out like Multi30k.
#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/files.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace {
// Multi30k's file layout filled with the toy corpus (source side as "de", target side as "en").
std::string fake_multi30k(const std::string& dir) {
  fs::create_directories(dir + "/tok");
  const std::pair<const char*, const char*> splits[] = {{"train", "train"}, {"val", "valid"}, {"test_2016_flickr", "test"}};
  for (const auto& [name, toy] : splits) {
    for (const auto& [lang, side] : {std::pair{"de", "src"}, std::pair{"en", "tgt"}, std::pair{"fr", "tgt"}}) {
      const std::string from = nmt::test::source_path(std::string("data/toy.") + toy + "." + side + ".gz");
      fs::copy_file(from, dir + "/" + name + "." + lang + ".gz");
      fs::copy_file(from, dir + "/tok/" + name + ".lc.norm.tok." + lang + ".gz");
    }
  }
  return dir;
}
}  // namespace

TEST(Recipe, RunsEndToEndOnASlice) {
  const std::string dir = nmt::test::scratch_dir("recipe");
  const std::string data = fake_multi30k(dir + "/multi30k");
  for (const std::string variant : {"tok", "raw"}) {
    std::string output;
    const int status = nmt::test::run_command("cd " + std::string(NMT_SOURCE_DIR) + " && NMT_BIN=" + NMT_BINARY +
                                                  " bash scripts/recipe_multi30k.sh de en " + variant + " --quick --minutes 10 --data " +
                                                  data + " --runs " + dir + "/runs",
                                              &output);
    ASSERT_EQ(status, 0) << output;
    const std::string name = variant == "raw" ? "multi30k-de-en-raw-quick" : "multi30k-de-en-quick";
    const std::string results = nmt::read_text_file(dir + "/runs/" + name + "/model/results.jsonl");
    EXPECT_NE(results.find("\"checkpoint\":\"averaged\",\"beam\":5"), std::string::npos) << results;
    EXPECT_NE(results.find("\"bleu\""), std::string::npos);
    EXPECT_TRUE(fs::exists(dir + "/runs/" + name + "/model/report.html"));
    EXPECT_TRUE(fs::exists(dir + "/runs/" + name + "/model/checkpoints/averaged.pt"));
    // --minutes becomes the run's time budget.
    EXPECT_NE(nmt::read_text_file(dir + "/runs/" + name + "/model/config.yaml").find("max_minutes: 10"),
              std::string::npos);
  }
}

TEST(Recipe, TrainsMembersSideBySideWithTheirOwnSeedsAndDecodesTheirEnsemble) {
  const std::string dir = nmt::test::scratch_dir("recipe_members");
  const std::string data = fake_multi30k(dir + "/multi30k");
  std::string output;
  const int status = nmt::test::run_command("cd " + std::string(NMT_SOURCE_DIR) + " && NMT_BIN=" + NMT_BINARY +
                                                " bash scripts/recipe_multi30k.sh de en tok --quick --members 2 --data " +
                                                data + " --runs " + dir + "/runs",
                                            &output);
  ASSERT_EQ(status, 0) << output;
  const std::string work = dir + "/runs/multi30k-de-en-quick";
  for (const std::string k : {"1", "2"}) {
    EXPECT_TRUE(fs::exists(work + "/model-" + k + "/checkpoints/averaged.pt")) << output;
    EXPECT_NE(nmt::read_text_file(work + "/model-" + k + "/config.yaml").find("seed: " + k), std::string::npos);
  }
  const std::string results = nmt::read_text_file(work + "/model/results.jsonl");
  EXPECT_NE(results.find("\"checkpoint\":\"member 2 averaged\",\"beam\":5"), std::string::npos) << results;
  EXPECT_NE(results.find("\"checkpoint\":\"ensemble of 2 averaged\",\"beam\":5"), std::string::npos) << results;

  const int refused = nmt::test::run_command("cd " + std::string(NMT_SOURCE_DIR) + " && NMT_BIN=" + NMT_BINARY +
                                                 " bash scripts/recipe_multi30k.sh de en tok --members 0",
                                             &output);
  EXPECT_EQ(refused, 2) << output;
  EXPECT_NE(output.find("--members takes a count of 1 or more"), std::string::npos) << output;
}
