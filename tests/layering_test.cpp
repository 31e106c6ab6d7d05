// The layers of src/ point one way (README, "Layout"): a file includes project headers only from
// its own folder and from folders of lower layers.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "test_util.hpp"

namespace fs = std::filesystem;

namespace {

// Higher includes lower; folders of one rank do not include each other.
const std::map<std::string, int> kRank = {
    {"config", 0}, {"runtime", 0}, {"spm_shim", 0}, {"onednn_shim", 0}, {"distributed", 1}, {"text", 1},  {"data", 2},   {"eval", 2},  {"report", 2},
    {"model", 3},  {"bundle", 4},  {"scoring", 5},  {"search", 5}, {"train", 6}, {"serve", 6}, {"cli", 7}, {"", 8}};

struct Include {
  std::string file, header;
};

std::vector<Include> includes_under(const std::string& pattern) {
  std::vector<Include> found;
  const std::regex include_line(pattern);
  const fs::path root = nmt::test::source_path("src");
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    std::smatch match;
    for (std::string line; std::getline(in, line);)
      if (std::regex_search(line, match, include_line))
        found.push_back({fs::relative(entry.path(), root).string(), match[1].str()});
  }
  return found;
}

std::string folder_of(const std::string& path) {
  const auto slash = path.find('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

}  // namespace

TEST(Layering, EveryProjectIncludePointsToTheSameOrALowerLayer) {
  const auto includes = includes_under(R"(^#include \"([^\"]+)\")");
  ASSERT_GT(includes.size(), 100u);
  for (const auto& [file, header] : includes) {
    const std::string from = folder_of(file), to = folder_of(header);
    ASSERT_TRUE(kRank.count(from)) << "folder of " << file << " has no layer in this test";
    ASSERT_TRUE(kRank.count(to)) << file << " includes " << header << " from a folder with no layer";
    if (from == to) continue;
    EXPECT_LT(kRank.at(to), kRank.at(from)) << file << " includes " << header;
  }
}

TEST(Layering, ModelSeesOnlyBatchesAndSpecialTokensOfTheDataLayer) {
  for (const auto& [file, header] : includes_under(R"(^#include [\"<]([^\">]+)[\">])")) {
    if (folder_of(file) != "model") continue;
    const std::string to = folder_of(header);
    if (to == "data") EXPECT_TRUE(header == "data/batch.hpp" || header == "data/special_tokens.hpp") << file << ": " << header;
    EXPECT_NE(to, "text") << file << ": " << header;
    // Files, threads and the environment are not the model's business; the compute shims are (the
    // LibTorch version shim, per-vector-width clones, bf16 bits).
    const bool compute_shim = header == "runtime/torch_compat.hpp" || header == "runtime/vector_clones.hpp" ||
                              header == "runtime/bf16_bits.hpp";
    if (!compute_shim) EXPECT_NE(to, "runtime") << file << ": " << header;
    for (const char* io : {"fstream", "filesystem", "cstdio"}) EXPECT_NE(header, io) << file << " touches files";
  }
}

TEST(Layering, EvalScoresTextOnlyAndOnlyTheCommandLineKnowsCli11) {
  for (const auto& [file, header] : includes_under(R"(^#include [\"<]([^\">]+)[\">])")) {
    if (folder_of(file) == "eval") {
      EXPECT_NE(folder_of(header), "model") << file << ": " << header;
      EXPECT_NE(header.find("torch"), 0u) << file << ": " << header;
    }
    if (header.rfind("CLI/", 0) == 0) EXPECT_TRUE(folder_of(file) == "cli" || file == "main.cpp") << file;
  }
}
