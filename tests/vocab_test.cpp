#include <gtest/gtest.h>

#include "data/encode.hpp"
#include "data/vocab.hpp"
#include "test_util.hpp"

using namespace nmt;

TEST(Vocab, SpecialsFirstThenFrequencyThenToken) {
  const Vocab vocab = Vocab::build({{"b", 5}, {"a", 5}, {"c", 9}, {"rare", 1}}, 1, 0);
  ASSERT_EQ(vocab.size(), 8);
  EXPECT_EQ(vocab.token(kPad), "<pad>");
  EXPECT_EQ(vocab.token(kUnk), "<unk>");
  EXPECT_EQ(vocab.token(kSos), "<s>");
  EXPECT_EQ(vocab.token(kEos), "</s>");
  EXPECT_EQ(vocab.token(4), "c");
  EXPECT_EQ(vocab.token(5), "a");  // ties broken by token
  EXPECT_EQ(vocab.token(6), "b");
  EXPECT_EQ(vocab.token(7), "rare");
  EXPECT_EQ(vocab.id("unseen"), kUnk);
}

TEST(Vocab, MinFreqAndMaxSize) {
  const std::unordered_map<std::string, int64_t> counts{{"x", 3}, {"y", 2}, {"z", 1}, {"w", 2}};
  const Vocab min2 = Vocab::build(counts, 2, 0);
  EXPECT_EQ(min2.size(), 7);
  EXPECT_EQ(min2.id("z"), kUnk);
  const Vocab top2 = Vocab::build(counts, 1, 2);
  EXPECT_EQ(top2.size(), 6);
  EXPECT_EQ(top2.token(4), "x");
  EXPECT_EQ(top2.token(5), "w");
}

TEST(Vocab, SaveLoadRoundTripAndRejectsBadFiles) {
  const auto dir = test::scratch_dir("v");
  const Vocab vocab = Vocab::build({{"hello", 4}, {"welt", 2}}, 1, 0);
  vocab.save(dir + "/v.tsv");
  const Vocab loaded = Vocab::load(dir + "/v.tsv");
  EXPECT_EQ(loaded.to_text(), vocab.to_text());
  EXPECT_EQ(loaded.to_text(), "<pad>\t0\n<unk>\t0\n<s>\t0\n</s>\t0\nhello\t4\nwelt\t2\n");
  test::write_file(dir + "/bad.tsv", "hello\t3\n");
  EXPECT_THROW(Vocab::load(dir + "/bad.tsv"), std::runtime_error);
  EXPECT_THROW(Vocab::load(dir + "/missing.tsv"), std::runtime_error);
}

TEST(Encode, TruncationBoundaries) {
  const Vocab vocab = Vocab::build({{"a", 3}, {"b", 2}, {"c", 1}}, 1, 0);  // a=4 b=5 c=6
  const std::vector<std::string> tokens{"a", "b", "c", "d"};
  EXPECT_EQ(encode_source(tokens, vocab, 4), (std::vector<int32_t>{4, 5, 6, kUnk}));
  EXPECT_EQ(encode_source(tokens, vocab, 3), (std::vector<int32_t>{4, 5, 6}));
  // target: SOS + tokens[:max_len-2] + EOS
  EXPECT_EQ(encode_target(tokens, vocab, 6), (std::vector<int32_t>{kSos, 4, 5, 6, kUnk, kEos}));
  EXPECT_EQ(encode_target(tokens, vocab, 5), (std::vector<int32_t>{kSos, 4, 5, 6, kEos}));
  EXPECT_EQ(encode_target(tokens, vocab, 3), (std::vector<int32_t>{kSos, 4, kEos}));
}
