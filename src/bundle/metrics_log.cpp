#include "bundle/metrics_log.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

#include "runtime/files.hpp"

namespace nmt {
namespace {

struct Line {
  std::string text;
  nlohmann::json record;  // discarded when the line is not a JSON object
};

std::vector<Line> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read '" + path + "'");
  std::vector<Line> lines;
  for (std::string text; std::getline(in, text);) {
    if (text.empty()) continue;
    auto record = nlohmann::json::parse(text, nullptr, false);
    if (!record.is_object()) record = nlohmann::json(nlohmann::json::value_t::discarded);
    lines.push_back({std::move(text), std::move(record)});
  }
  return lines;
}

void warn_torn(const std::string& path, size_t number) {
  spdlog::warn("{}:{}: not a complete JSON record (torn by a crash?); skipped", path, number);
}

}  // namespace

std::string metrics_path(const std::string& model_dir) { return model_dir + "/metrics.jsonl"; }

std::vector<nlohmann::json> read_metrics(const std::string& path) {
  std::vector<nlohmann::json> records;
  const auto lines = read_lines(path);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].record.is_discarded())
      warn_torn(path, i + 1);
    else
      records.push_back(lines[i].record);
  }
  return records;
}

int64_t drop_metrics_after(const std::string& path, int64_t step) {
  if (!std::filesystem::exists(path)) return 0;
  std::string kept;
  int64_t dropped = 0;
  const auto lines = read_lines(path);
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& record = lines[i].record;
    if (record.is_discarded()) warn_torn(path, i + 1);
    if (record.is_discarded() || record.value("step", int64_t{0}) > step) {
      ++dropped;
      continue;
    }
    kept += lines[i].text + "\n";
  }
  if (dropped > 0) write_text_atomically(path, kept);
  return dropped;
}

}  // namespace nmt
