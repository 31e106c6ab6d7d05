// training.dir/metrics.jsonl: one JSON record per line ("train" and "valid", each with its step),
// appended by the trainer and read by `nmt report`.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nmt {

std::string metrics_path(const std::string& model_dir);
// The records in file order. A line that is not a JSON object (the torn last line of a killed
// run) is skipped with a warning naming the file and line.
std::vector<nlohmann::json> read_metrics(const std::string& path);
// For a resumed run: keeps the records up to `step` and drops those that a crashed run wrote
// after its last checkpoint (they are about to be written again), and torn lines. Returns how
// many lines were dropped; the file is rewritten atomically, and only when something is dropped.
int64_t drop_metrics_after(const std::string& path, int64_t step);

}  // namespace nmt
