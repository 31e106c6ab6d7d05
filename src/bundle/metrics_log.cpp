#include "bundle/metrics_log.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

#include "runtime/files.hpp"

namespace nmt {
namespace {

struct Line {
  size_t number;  // in the file, from 1
  std::string text;
  nlohmann::json record;  // discarded when the line is not a JSON object
};

std::vector<Line> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read '" + path + "'");
  std::vector<Line> lines;
  size_t number = 0;
  for (std::string text; std::getline(in, text);) {
    ++number;
    if (text.empty()) continue;
    auto record = nlohmann::json::parse(text, nullptr, false);
    if (!record.is_object()) record = nlohmann::json(nlohmann::json::value_t::discarded);
    lines.push_back({number, std::move(text), std::move(record)});
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
  for (const auto& line : read_lines(path)) {
    if (line.record.is_discarded())
      warn_torn(path, line.number);
    else
      records.push_back(line.record);
  }
  return records;
}

int64_t drop_metrics_after(const std::string& path, int64_t step) {
  if (!std::filesystem::exists(path)) return 0;
  std::string kept;
  int64_t dropped = 0;
  for (const auto& line : read_lines(path)) {
    const auto& record = line.record;
    if (record.is_discarded()) {
      warn_torn(path, line.number);
      ++dropped;
      continue;
    }
    const auto found = record.find("step");
    if (found != record.end() && found->is_number_integer() && found->get<int64_t>() > step) {
      ++dropped;
      continue;
    }
    kept += line.text + "\n";
  }
  if (dropped > 0) write_text_atomically(path, kept);
  return dropped;
}

}  // namespace nmt
