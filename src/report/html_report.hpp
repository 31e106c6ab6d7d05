// `nmt report`: a self-contained HTML page (inline SVG, no external resources) with training
// curves from metrics.jsonl and attention heatmaps of a few sentences.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nmt {

struct AttentionExample {
  std::vector<std::string> src, tgt;
  std::vector<std::vector<float>> weights;  // [tgt position][src position]
};

std::string render_report(const std::string& title, const std::vector<nlohmann::json>& metrics,
                          const std::vector<AttentionExample>& examples);

}  // namespace nmt
