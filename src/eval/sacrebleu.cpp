#include "eval/sacrebleu.hpp"

#include <cmath>
#include <map>
#include <stdexcept>
#include <unordered_map>

#include "text/tokenizer.hpp"
#include "text/utf8.hpp"

namespace nmt {
namespace {

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The punctuation class of 13a: { | } ~ [ \ ] ^ _ ` space ! " # $ % & ( ) * + : ; < = > ? @ /
bool is_13a_symbol(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= '{' && u <= '~') || (u >= '[' && u <= '`') || (u >= ' ' && u <= '&') || (u >= '(' && u <= '+') ||
         (u >= ':' && u <= '@') || u == '/';
}

}  // namespace

std::string tokenize_13a(const std::string& input) {
  std::string line = input;
  replace_all(line, "<skipped>", "");
  replace_all(line, "-\n", "");
  replace_all(line, "\n", " ");
  if (line.find('&') != std::string::npos) {
    replace_all(line, "&quot;", "\"");
    replace_all(line, "&amp;", "&");
    replace_all(line, "&lt;", "<");
    replace_all(line, "&gt;", ">");
  }
  line = " " + line + " ";
  // The four regex passes of sacreBLEU's TokenizerRegexp, each a left-to-right non-overlapping scan.
  std::string out;
  for (char c : line) {
    if (is_13a_symbol(c)) out += ' ', out += c, out += ' ';
    else out += c;
  }
  line.swap(out), out.clear();
  for (size_t i = 0; i < line.size();) {  // ([^0-9])([\.,]) -> \1 \2 (space after)
    if (i + 1 < line.size() && !is_digit(line[i]) && (line[i + 1] == '.' || line[i + 1] == ',')) {
      out += line[i], out += ' ', out += line[i + 1], out += ' ', i += 2;
    } else {
      out += line[i++];
    }
  }
  line.swap(out), out.clear();
  for (size_t i = 0; i < line.size();) {  // ([\.,])([^0-9]) -> ' \1 \2'
    if (i + 1 < line.size() && (line[i] == '.' || line[i] == ',') && !is_digit(line[i + 1])) {
      out += ' ', out += line[i], out += ' ', out += line[i + 1], i += 2;
    } else {
      out += line[i++];
    }
  }
  line.swap(out), out.clear();
  for (size_t i = 0; i < line.size();) {  // ([0-9])(-) -> \1 \2 (space after)
    if (i + 1 < line.size() && is_digit(line[i]) && line[i + 1] == '-') {
      out += line[i], out += ' ', out += '-', out += ' ', i += 2;
    } else {
      out += line[i++];
    }
  }
  std::string joined;
  for (const auto& word : python_split(out)) joined += (joined.empty() ? "" : " ") + word;
  return joined;
}

namespace {

std::string prepare(const std::string& line, const ScoreOptions& options) {
  const std::string text = options.lowercase ? lowercase_utf8(line) : line;
  if (options.tokenize == "13a") return tokenize_13a(text);
  if (options.tokenize == "none") return text;
  throw std::runtime_error("unknown BLEU tokenizer '" + options.tokenize + "' (expected 13a or none)");
}

std::map<std::vector<std::string>, int64_t> ngram_counts(const std::vector<std::string>& words, size_t order) {
  std::map<std::vector<std::string>, int64_t> counts;
  for (size_t n = 1; n <= order; ++n)
    for (size_t i = 0; i + n <= words.size(); ++i) ++counts[std::vector<std::string>(words.begin() + i, words.begin() + i + n)];
  return counts;
}

}  // namespace

BleuResult corpus_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references,
                       const ScoreOptions& options) {
  if (hypotheses.size() != references.size())
    throw std::runtime_error("BLEU: " + std::to_string(hypotheses.size()) + " hypotheses but " +
                             std::to_string(references.size()) + " references");
  BleuResult result;
  for (size_t s = 0; s < hypotheses.size(); ++s) {
    const auto hyp = python_split(prepare(hypotheses[s], options));
    const auto ref = python_split(prepare(references[s], options));
    result.sys_len += static_cast<int64_t>(hyp.size());
    result.ref_len += static_cast<int64_t>(ref.size());
    const auto ref_counts = ngram_counts(ref, 4);
    for (const auto& [ngram, count] : ngram_counts(hyp, 4)) {
      const auto it = ref_counts.find(ngram);
      if (it != ref_counts.end()) result.counts[ngram.size() - 1] += std::min(count, it->second);
    }
    for (size_t n = 1; n <= 4; ++n)
      result.totals[n - 1] += std::max<int64_t>(0, static_cast<int64_t>(hyp.size()) - static_cast<int64_t>(n) + 1);
  }
  // compute_bleu with smooth_method="exp", as in sacreBLEU.
  double smooth = 1.0;
  for (size_t n = 0; n < 4; ++n) {
    if (result.totals[n] == 0) break;
    if (result.counts[n] == 0) {
      smooth *= 2;
      result.precisions[n] = 100.0 / (smooth * result.totals[n]);
    } else {
      result.precisions[n] = 100.0 * result.counts[n] / result.totals[n];
    }
  }
  if (result.sys_len == 0) return result;
  result.brevity_penalty =
      result.sys_len < result.ref_len ? std::exp(1.0 - static_cast<double>(result.ref_len) / result.sys_len) : 1.0;
  double log_sum = 0;
  for (double p : result.precisions) log_sum += p > 0 ? std::log(p) : -9999999999.0;
  result.score = result.brevity_penalty * std::exp(log_sum / 4);
  return result;
}

double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references) {
  if (hypotheses.size() != references.size())
    throw std::runtime_error("chrF: " + std::to_string(hypotheses.size()) + " hypotheses but " +
                             std::to_string(references.size()) + " references");
  constexpr size_t kOrder = 6;
  constexpr double kBeta = 2.0;
  std::array<double, 3 * kOrder> stats{};  // per order: hypothesis n-grams, reference n-grams, matches
  auto chars_of = [](const std::string& line) {
    std::u32string chars;
    for (char32_t c : utf8_to_u32(line))
      if (!is_python_space(c)) chars.push_back(c);
    return chars;
  };
  for (size_t s = 0; s < hypotheses.size(); ++s) {
    const auto hyp = chars_of(hypotheses[s]), ref = chars_of(references[s]);
    for (size_t n = 1; n <= kOrder; ++n) {
      std::unordered_map<std::u32string, int64_t> hyp_counts, ref_counts;
      for (size_t i = 0; i + n <= hyp.size(); ++i) ++hyp_counts[hyp.substr(i, n)];
      for (size_t i = 0; i + n <= ref.size(); ++i) ++ref_counts[ref.substr(i, n)];
      int64_t matches = 0;
      for (const auto& [gram, count] : hyp_counts) {
        const auto it = ref_counts.find(gram);
        if (it != ref_counts.end()) matches += std::min(count, it->second);
      }
      stats[3 * (n - 1)] += hyp.size() >= n ? static_cast<double>(hyp.size() - n + 1) : 0.0;
      stats[3 * (n - 1) + 1] += ref.size() >= n ? static_cast<double>(ref.size() - n + 1) : 0.0;
      stats[3 * (n - 1) + 2] += static_cast<double>(matches);
    }
  }
  // sacreBLEU CHRF._compute_f_score without eps smoothing: average P and R over effective orders.
  const double factor = kBeta * kBeta;
  double precision_sum = 0, recall_sum = 0;
  int effective_order = 0;
  for (size_t n = 0; n < kOrder; ++n) {
    const double n_hyp = stats[3 * n], n_ref = stats[3 * n + 1], n_match = stats[3 * n + 2];
    if (n_hyp > 0 && n_ref > 0) {
      precision_sum += n_match / n_hyp;
      recall_sum += n_match / n_ref;
      ++effective_order;
    }
  }
  if (effective_order == 0) return 0.0;
  const double precision = precision_sum / effective_order, recall = recall_sum / effective_order;
  if (precision + recall == 0) return 0.0;
  return 100.0 * (1 + factor) * precision * recall / (factor * precision + recall);
}

std::string bleu_signature(const ScoreOptions& options) {
  return std::string("nrefs:1|case:") + (options.lowercase ? "lc" : "mixed") + "|eff:no|tok:" + options.tokenize +
         "|smooth:exp|version:2.x-compatible";
}

}  // namespace nmt
