// Helpers shared by the tests: scratch directories and small files.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "text/line_reader.hpp"

namespace nmt::test {

inline std::string scratch_dir(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  auto dir = std::filesystem::temp_directory_path() / ("nmt-test-" + std::string(info->test_suite_name()) + "-" +
                                                       info->name() + "-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// The lines of a text file, plain or gzip.
inline std::vector<std::string> text_lines(const std::string& path) {
  std::vector<std::string> lines;
  LineReader reader(path);
  for (std::string line; reader.next(line);) lines.push_back(line);
  return lines;
}

inline std::string source_path(const std::string& relative) { return std::string(NMT_SOURCE_DIR) + "/" + relative; }

// Runs a shell command, returns its exit status and captures its combined output.
inline int run_command(const std::string& command, std::string* output = nullptr) {
  std::string text;
  FILE* pipe = popen(("(" + command + ") 2>&1").c_str(), "r");
  char buffer[4096];
  while (pipe && fgets(buffer, sizeof(buffer), pipe)) text += buffer;
  const int status = pipe ? pclose(pipe) : -1;
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Step -> training loss of each log record in a model directory's metrics.jsonl.
inline std::map<int64_t, double> train_losses(const std::string& model_dir) {
  std::map<int64_t, double> losses;
  std::ifstream in(model_dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto record = nlohmann::json::parse(line);
    if (record["type"] == "train") losses[record["step"]] = record["loss"];
  }
  return losses;
}

}  // namespace nmt::test
