#include <gtest/gtest.h>

#include "eval/sacrebleu.hpp"

using namespace nmt;

// Reference values computed with sacreBLEU 2.5.
TEST(SacreBleu, CatOnMat) {
  const auto bleu = corpus_bleu({"the cat sat on a mat ."}, {"The cat sat on the mat."});
  EXPECT_NEAR(bleu.score, 32.1729, 0.0001);
  EXPECT_EQ(bleu.counts, (std::array<int64_t, 4>{6, 3, 1, 0}));
  EXPECT_EQ(bleu.totals, (std::array<int64_t, 4>{7, 6, 5, 4}));
  EXPECT_NEAR(corpus_chrf({"the cat sat on a mat ."}, {"The cat sat on the mat."}), 62.1103, 0.0001);
}

TEST(SacreBleu, GermanWithNumbersAndDash) {
  const std::vector<std::string> hyp{"Ein Mann, der 3,5 km läuft - schnell!"}, ref{"Ein Mann läuft 3,5 km schnell."};
  const auto bleu = corpus_bleu(hyp, ref);
  EXPECT_NEAR(bleu.score, 13.1345, 0.0001);
  EXPECT_EQ(bleu.counts, (std::array<int64_t, 4>{6, 2, 0, 0}));
  EXPECT_EQ(bleu.totals, (std::array<int64_t, 4>{10, 9, 8, 7}));
  EXPECT_NEAR(corpus_chrf(hyp, ref), 57.7614, 0.0001);
}

TEST(SacreBleu, TwoSegmentsCorpusLevel) {
  const std::vector<std::string> hyp{"A 5-year-old boy plays.", "Two dogs run & jump in the snow."};
  const std::vector<std::string> ref{"A five year old boy is playing.", "Two dogs are running and jumping in snow."};
  const auto bleu = corpus_bleu(hyp, ref);
  EXPECT_NEAR(bleu.score, 8.7248, 0.0001);
  EXPECT_EQ(bleu.sys_len, 16);
  EXPECT_EQ(bleu.ref_len, 17);
  EXPECT_NEAR(corpus_chrf(hyp, ref), 35.7398, 0.0001);
}

TEST(SacreBleu, EmptyHypothesis) {
  EXPECT_EQ(corpus_bleu({""}, {"nothing here"}).score, 0.0);
  EXPECT_EQ(corpus_chrf({""}, {"nothing here"}), 0.0);
}

TEST(SacreBleu, ZeroMatchOrderAndLengths) {
  // No 4-gram can match: exp smoothing keeps the score positive.
  const auto short_hyp = corpus_bleu({"a b c"}, {"a b c d e f"});
  EXPECT_EQ(short_hyp.totals[3], 0);
  EXPECT_NEAR(short_hyp.brevity_penalty, std::exp(1.0 - 6.0 / 3.0), 1e-12);
  EXPECT_GT(corpus_bleu({"a b x c d e"}, {"a b y c d e"}).score, 0.0);
  const auto long_hyp = corpus_bleu({"a b c d e f g h"}, {"a b c d"});
  EXPECT_DOUBLE_EQ(long_hyp.brevity_penalty, 1.0);
  EXPECT_NEAR(long_hyp.precisions[0], 50.0, 1e-9);
  EXPECT_NEAR(corpus_bleu({"same words here ok"}, {"same words here ok"}).score, 100.0, 1e-9);
}

TEST(SacreBleu, Tokenizer13a) {
  EXPECT_EQ(tokenize_13a("The cat sat on the mat."), "The cat sat on the mat .");
  EXPECT_EQ(tokenize_13a("3,5 km - schnell!"), "3,5 km - schnell !");
  EXPECT_EQ(tokenize_13a("5-year-old"), "5 - year-old");
  EXPECT_EQ(tokenize_13a("a &amp; b &quot;c&quot;"), "a & b \" c \"");
  EXPECT_EQ(tokenize_13a("(x) [y] {z}"), "( x ) [ y ] { z }");
  EXPECT_EQ(tokenize_13a("end.\u00a0Next"), "end . Next");
}

TEST(SacreBleu, TokenizeNoneAndLowercase) {
  ScoreOptions none{"none", false};
  EXPECT_EQ(corpus_bleu({"mat."}, {"mat ."}, none).counts[0], 0);
  ScoreOptions lower{"13a", true};
  EXPECT_NEAR(corpus_bleu({"THE CAT SAT ON THE MAT ."}, {"The cat sat on the mat."}, lower).score, 100.0, 1e-9);
  EXPECT_EQ(bleu_signature(none).substr(0, 30), "nrefs:1|case:mixed|eff:no|tok:");
}
