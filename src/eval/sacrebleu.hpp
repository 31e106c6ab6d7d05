// BLEU and chrF exactly as sacreBLEU 2.x defines them (corpus level, one reference).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace nmt {

// sacreBLEU's default "13a" tokenizer (mteval-v13a).
std::string tokenize_13a(const std::string& line);

struct BleuStats {
  std::array<int64_t, 4> correct{}, total{};
  int64_t sys_len = 0, ref_len = 0;
};

struct BleuResult {
  double score = 0;
  std::array<int64_t, 4> counts{}, totals{};
  std::array<double, 4> precisions{};
  double brevity_penalty = 0;
  int64_t sys_len = 0, ref_len = 0;
};

struct ScoreOptions {
  std::string tokenize = "13a";  // 13a | none
  bool lowercase = false;
};

BleuResult corpus_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references,
                       const ScoreOptions& options = {});
// chrF2: character n-grams 1..6, beta 2, whitespace removed, corpus-level statistics.
double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references);
std::string bleu_signature(const ScoreOptions& options);

}  // namespace nmt
