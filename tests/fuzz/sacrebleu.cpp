// Differential fuzzing of sacreBLEU's 13a tokenizer, BLEU and chrF against slow definitions
// written from sacreBLEU's Python (regular expressions, n-gram lists). Input: one pair per line,
// hypothesis and reference separated by a tab; only valid UTF-8 is scored, as `nmt evaluate` reads it.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "eval/sacrebleu.hpp"
#include "fuzz_input.hpp"
#include "text/utf8.hpp"

namespace {

std::string replace(std::string text, const std::string& from, const std::string& to) {
  std::string out;
  for (size_t at = 0;;) {
    const size_t found = text.find(from, at);
    if (found == std::string::npos) return out + text.substr(at);
    out += text.substr(at, found - at) + to;
    at = found + from.size();
  }
}

// sacrebleu/tokenizers/tokenizer_13a.py and tokenizer_re.py, step by step.
std::string slow_13a(std::string line) {
  line = replace(line, "<skipped>", "");
  line = replace(line, "-\n", "");
  line = replace(line, "\n", " ");
  if (line.find('&') != std::string::npos) {
    line = replace(line, "&quot;", "\"");
    line = replace(line, "&amp;", "&");
    line = replace(line, "&lt;", "<");
    line = replace(line, "&gt;", ">");
  }
  line = " " + line + " ";
  static const std::vector<std::pair<std::regex, std::string>> rules = {
      {std::regex(R"(([\{-\~\[-\` -\&\(-\+\:-\@\/]))"), " $1 "},
      {std::regex(R"(([^0-9])([\.,]))"), "$1 $2 "},
      {std::regex(R"(([\.,])([^0-9]))"), " $1 $2"},
      {std::regex(R"(([0-9])(-))"), "$1 $2 "},
  };
  for (const auto& [pattern, replacement] : rules) line = std::regex_replace(line, pattern, replacement);
  std::string joined;
  for (const auto& word : nmt::python_split(line)) joined += (joined.empty() ? "" : " ") + word;
  return joined;
}

std::vector<std::vector<std::string>> ngrams(const std::vector<std::string>& items, size_t n) {
  std::vector<std::vector<std::string>> grams;
  for (size_t i = 0; i + n <= items.size(); ++i) grams.emplace_back(items.begin() + i, items.begin() + i + n);
  return grams;
}

// Clipped matches: each hypothesis n-gram matches at most as often as the reference holds it.
int64_t clipped_matches(std::vector<std::vector<std::string>> hyp, std::vector<std::vector<std::string>> ref) {
  int64_t matches = 0;
  for (const auto& gram : hyp) {
    const auto it = std::find(ref.begin(), ref.end(), gram);
    if (it != ref.end()) ++matches, ref.erase(it);
  }
  return matches;
}

// sacrebleu/metrics/bleu.py: corpus statistics, smooth_method "exp", brevity penalty.
double slow_bleu(const std::vector<std::string>& hyps, const std::vector<std::string>& refs) {
  double correct[4] = {}, total[4] = {}, sys_len = 0, ref_len = 0;
  for (size_t s = 0; s < hyps.size(); ++s) {
    const auto hyp = nmt::python_split(slow_13a(hyps[s])), ref = nmt::python_split(slow_13a(refs[s]));
    sys_len += hyp.size();
    ref_len += ref.size();
    for (size_t n = 1; n <= 4; ++n) {
      correct[n - 1] += clipped_matches(ngrams(hyp, n), ngrams(ref, n));
      total[n - 1] += ngrams(hyp, n).size();
    }
  }
  double precisions[4] = {}, smooth = 1;
  for (int n = 0; n < 4; ++n) {
    if (total[n] == 0) break;
    if (correct[n] == 0) {
      smooth *= 2;
      precisions[n] = 100.0 / (smooth * total[n]);
    } else {
      precisions[n] = 100.0 * correct[n] / total[n];
    }
  }
  if (sys_len == 0) return 0;
  const double bp = sys_len < ref_len ? std::exp(1 - ref_len / sys_len) : 1.0;
  double log_sum = 0;
  for (double p : precisions) log_sum += p > 0 ? std::log(p) : -9999999999.0;
  return bp * std::exp(log_sum / 4);
}

// sacrebleu/metrics/chrf.py with char_order 6, word_order 0, beta 2, whitespace removed.
double slow_chrf(const std::vector<std::string>& hyps, const std::vector<std::string>& refs) {
  double n_hyp[6] = {}, n_ref[6] = {}, n_match[6] = {};
  auto characters = [](const std::string& line) {
    std::vector<std::string> chars;
    for (size_t i = 0; i < line.size();) {
      char32_t c;
      const size_t length = nmt::decode_utf8(line, i, c);
      if (!nmt::is_python_space(c)) chars.push_back(line.substr(i, length));
      i += length;
    }
    return chars;
  };
  for (size_t s = 0; s < hyps.size(); ++s) {
    const auto hyp = characters(hyps[s]), ref = characters(refs[s]);
    for (size_t n = 1; n <= 6; ++n) {
      n_hyp[n - 1] += ngrams(hyp, n).size();
      n_ref[n - 1] += ngrams(ref, n).size();
      n_match[n - 1] += clipped_matches(ngrams(hyp, n), ngrams(ref, n));
    }
  }
  double precision = 0, recall = 0;
  int effective = 0;
  for (int n = 0; n < 6; ++n) {
    if (n_hyp[n] > 0 && n_ref[n] > 0) {
      precision += n_match[n] / n_hyp[n];
      recall += n_match[n] / n_ref[n];
      ++effective;
    }
  }
  if (effective == 0) return 0;
  precision /= effective;
  recall /= effective;
  if (precision + recall == 0) return 0;
  return 100 * 5 * precision * recall / (4 * precision + recall);
}

bool close(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 2000) return 0;  // the slow definitions are quadratic
  const std::string input(reinterpret_cast<const char*>(data), size);
  if (nmt::find_invalid_utf8(input) != std::string::npos) return 0;
  std::vector<std::string> hyps, refs;
  size_t start = 0;
  for (size_t end; start <= input.size(); start = end + 1) {
    end = std::min(input.find('\n', start), input.size());
    const std::string line = input.substr(start, end - start);
    const size_t tab = line.find('\t');
    hyps.push_back(line.substr(0, tab));
    refs.push_back(tab == std::string::npos ? "" : line.substr(tab + 1));
  }
  for (const auto& text : hyps) nmt::fuzz::require(nmt::tokenize_13a(text) == slow_13a(text), "13a matches its definition");
  nmt::fuzz::require(close(nmt::corpus_bleu(hyps, refs).score, slow_bleu(hyps, refs)), "BLEU matches its definition");
  nmt::fuzz::require(close(nmt::corpus_chrf(hyps, refs), slow_chrf(hyps, refs)), "chrF matches its definition");
  return 0;
}
