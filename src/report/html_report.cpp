#include "report/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace nmt {

namespace {

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

struct Series {
  std::string name, color;
  std::vector<std::pair<double, double>> points;  // (step, value)
};

// A line chart; every point is also listed in a <title> so the numbers are in the page.
std::string chart(const std::string& title, const std::vector<Series>& series) {
  double x_max = 1, y_min = INFINITY, y_max = -INFINITY;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points) x_max = std::max(x_max, x), y_min = std::min(y_min, y), y_max = std::max(y_max, y);
  if (!std::isfinite(y_min)) return "";
  if (y_max - y_min < 1e-9) y_max = y_min + 1;
  const double width = 560, height = 260, left = 50, bottom = 30;
  auto px = [&](double x) { return left + (width - left - 10) * x / x_max; };
  auto py = [&](double y) { return height - bottom - (height - bottom - 10) * (y - y_min) / (y_max - y_min); };
  std::ostringstream svg;
  svg.precision(6);
  svg << "<figure><figcaption>" << escape(title) << "</figcaption><svg width='" << width << "' height='" << height
      << "' xmlns='http://www.w3.org/2000/svg'><rect width='100%' height='100%' fill='#fff' stroke='#ccc'/>"
      << "<text x='5' y='15' font-size='11'>" << y_max << "</text><text x='5' y='" << height - bottom
      << "' font-size='11'>" << y_min << "</text><text x='" << width - 60 << "' y='" << height - 8
      << "' font-size='11'>step " << x_max << "</text>";
  int legend = 0;
  for (const auto& s : series) {
    if (s.points.empty()) continue;
    svg << "<polyline fill='none' stroke='" << s.color << "' stroke-width='1.5' points='";
    for (const auto& [x, y] : s.points) svg << px(x) << "," << py(y) << " ";
    svg << "'/>";
    for (const auto& [x, y] : s.points)
      svg << "<circle class='point' data-series='" << escape(s.name) << "' data-step='" << x << "' data-value='" << y
          << "' cx='" << px(x) << "' cy='" << py(y) << "' r='2' fill='" << s.color << "'><title>" << escape(s.name)
          << " step " << x << ": " << y << "</title></circle>";
    svg << "<text x='" << left + 10 + 140 * legend++ << "' y='" << height - 8 << "' font-size='11' fill='" << s.color
        << "'>" << escape(s.name) << "</text>";
  }
  svg << "</svg></figure>\n";
  return svg.str();
}

std::string heatmap(const AttentionExample& example) {
  const double cell = 22, left = 120, top = 90;
  const double width = left + cell * static_cast<double>(example.src.size()) + 10;
  const double height = top + cell * static_cast<double>(example.tgt.size()) + 10;
  std::ostringstream svg;
  svg.precision(4);
  svg << "<svg width='" << width << "' height='" << height << "' xmlns='http://www.w3.org/2000/svg'>";
  for (size_t s = 0; s < example.src.size(); ++s)
    svg << "<text font-size='11' transform='translate(" << left + cell * static_cast<double>(s) + 14 << "," << top - 4
        << ") rotate(-60)'>" << escape(example.src[s]) << "</text>";
  for (size_t t = 0; t < example.tgt.size() && t < example.weights.size(); ++t) {
    svg << "<text font-size='11' text-anchor='end' x='" << left - 4 << "' y='" << top + cell * static_cast<double>(t) + 15
        << "'>" << escape(example.tgt[t]) << "</text>";
    for (size_t s = 0; s < example.src.size() && s < example.weights[t].size(); ++s)
      svg << "<rect x='" << left + cell * static_cast<double>(s) << "' y='" << top + cell * static_cast<double>(t)
          << "' width='" << cell << "' height='" << cell << "' fill='#1f4e9c' fill-opacity='" << example.weights[t][s]
          << "'><title>" << example.weights[t][s] << "</title></rect>";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace

std::string render_report(const std::string& title, const std::vector<nlohmann::json>& metrics,
                          const std::vector<AttentionExample>& examples) {
  Series train_loss{"train loss", "#d62728", {}}, valid_loss{"valid loss", "#1f77b4", {}};
  Series train_ppl{"train ppl", "#d62728", {}}, valid_ppl{"valid ppl", "#1f77b4", {}};
  Series bleu{"valid BLEU", "#2ca02c", {}}, chrf{"valid chrF", "#9467bd", {}};
  for (const auto& record : metrics) {
    const double step = record.value("step", 0.0);
    const bool train = record.value("type", "") == "train";
    if (record.contains("loss")) (train ? train_loss : valid_loss).points.emplace_back(step, record["loss"].get<double>());
    if (record.contains("ppl")) (train ? train_ppl : valid_ppl).points.emplace_back(step, record["ppl"].get<double>());
    if (record.contains("bleu")) bleu.points.emplace_back(step, record["bleu"].get<double>());
    if (record.contains("chrf")) chrf.points.emplace_back(step, record["chrf"].get<double>());
  }
  std::ostringstream html;
  html << "<!DOCTYPE html><html><head><meta charset='utf-8'><title>" << escape(title)
       << "</title><style>body{font-family:sans-serif;margin:2em}figure{display:inline-block;margin:1em}"
          "figcaption{font-weight:bold}</style></head><body><h1>"
       << escape(title) << "</h1>\n";
  html << chart("Loss (nats per target token)", {train_loss, valid_loss});
  html << chart("Perplexity", {train_ppl, valid_ppl});
  html << chart("Validation BLEU and chrF", {bleu, chrf});
  if (!examples.empty()) html << "<h2>Attention</h2>\n";
  for (const auto& example : examples) html << "<div>" << heatmap(example) << "</div>\n";
  html << "</body></html>\n";
  return html.str();
}

}  // namespace nmt
