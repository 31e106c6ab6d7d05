// Lexical shortlists: what build() ranks, the file's round trip and errors, decoding restricted to
// a list against full decoding (by construction), batches, int8 with a list, and the command line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bundle/shortlist.hpp"
#include "bundle/trained_model.hpp"
#include "data/encode.hpp"
#include "model/seq2seq.hpp"
#include "search/decode_corpus.hpp"
#include "random_seq2seq.hpp"
#include "test_util.hpp"
#include "tiny_training.hpp"

using namespace nmt;
namespace fs = std::filesystem;

namespace {

using test::options_with_beam;

constexpr int64_t kVocab = 30;

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

struct Toy {
  Vocabs vocabs;
  ParallelCorpus corpus;
};

Toy toy_corpus(const std::vector<std::pair<std::string, std::string>>& pairs, int64_t target_min_freq = 1) {
  std::unordered_map<std::string, int64_t> src_counts, tgt_counts;
  for (const auto& [src, tgt] : pairs) {
    for (const auto& word : words(src)) ++src_counts[word];
    for (const auto& word : words(tgt)) ++tgt_counts[word];
  }
  Toy toy{{Vocab::build(src_counts, 1, 0), Vocab::build(tgt_counts, target_min_freq, 0)}, {}};
  for (const auto& [src, tgt] : pairs) {
    toy.corpus.src.push_back(encode_source(words(src), toy.vocabs.src, 50));
    toy.corpus.tgt.push_back(encode_target(words(tgt), toy.vocabs.tgt, 50));
  }
  return toy;
}

const std::vector<std::pair<std::string, std::string>> kPairs = {
    {"der hund", "the dog"}, {"die katze", "the cat"}, {"der hund läuft", "the dog runs"},
    {"die katze läuft", "the cat runs"}, {"ein hund", "a dog"}};

std::vector<int64_t> ids_of(const Vocab& vocab, const std::vector<std::string>& tokens) {
  std::vector<int64_t> ids;
  for (const auto& token : tokens) ids.push_back(vocab.id(token));
  std::sort(ids.begin(), ids.end());
  return ids;
}

Seq2Seq random_model(const std::string& cell, const std::string& attention, uint64_t seed) {
  return test::random_seq2seq(cell, attention, seed, kVocab);
}

Sequences sentences() {
  Sequences src;
  for (const auto& line : std::vector<std::vector<int32_t>>{{4, 5, 6, 7}, {8, 9}, {10, 11, 12, 13, 14, 15, 16}, {17},
                                                            {18, 19, 20}, {21, 22, 23, 24, 25}, {26, 27}, {28, 29, 4, 5}})
    src.push_back(line);
  return src;
}


}  // namespace

TEST(Shortlist, RanksASourceTokensTranslationAboveTheWordsEverySentenceHas) {
  const Toy toy = toy_corpus(kPairs);
  const Shortlist list = Shortlist::build(toy.corpus, toy.vocabs, 2, 2);
  const auto source = [&](const std::string& text) {
    std::vector<int32_t> ids;
    for (const auto& word : words(text)) ids.push_back(toy.vocabs.src.id(word));
    return ids;
  };
  const Vocab& tgt = toy.vocabs.tgt;
  // "hund": dog (Dice 1.0) before the (0.57), a (0.5) and runs (0.4); "the" is the most frequent.
  auto hund = source("hund");
  EXPECT_EQ(list.candidates(hund.data(), 1, 0, 1), ids_of(tgt, {"</s>", "dog"}));
  EXPECT_EQ(list.candidates(hund.data(), 1, 0, 2), ids_of(tgt, {"</s>", "dog", "the"}));
  EXPECT_EQ(list.candidates(hund.data(), 1, 1, 1), ids_of(tgt, {"</s>", "the", "dog"}));
  auto both = source("die katze läuft");
  // die -> cat (1.0, before the at 0.67), katze -> cat, läuft -> runs.
  EXPECT_EQ(list.candidates(both.data(), 3, 0, 1), ids_of(tgt, {"</s>", "cat", "runs"}));
  EXPECT_EQ(list.candidates(both.data(), 3, 1, 1), ids_of(tgt, {"</s>", "the", "cat", "runs"}));
  EXPECT_EQ(list.stored_frequent(), 2);
  EXPECT_EQ(list.stored_per_source(), 2);
  // A limit above what the vocabulary holds keeps every token it has (cat dog runs a the, by count).
  const Shortlist roomy = Shortlist::build(toy.corpus, toy.vocabs, 1000, 1000);
  EXPECT_EQ(roomy.stored_frequent(), 1000);
  EXPECT_EQ(roomy.candidates(hund.data(), 1, 1000, 0), ids_of(tgt, {"</s>", "the", "dog", "cat", "runs", "a"}));

  // The file round trip.
  const auto dir = test::scratch_dir("shortlist-file");
  list.save(shortlist_path(dir));
  const Shortlist loaded = Shortlist::load(shortlist_path(dir), toy.vocabs);
  EXPECT_EQ(loaded.candidates(both.data(), 3, 2, 2), list.candidates(both.data(), 3, 2, 2));

  // Another vocabulary, a broken file, an id out of range: each named.
  Toy other = toy_corpus({{"der hund", "the dog"}, {"die katze", "the cat"}});
  try {
    Shortlist::load(shortlist_path(dir), other.vocabs);
    ADD_FAILURE() << "a list for other vocabularies was accepted";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find(shortlist_path(dir) + "' was built for other vocabularies"),
              std::string::npos) << error.what();
  }
  test::write_file(dir + "/broken.json", "{\"format\": \"nmt-shortlist\", ");
  EXPECT_THROW(
      {
        try {
          Shortlist::load(dir + "/broken.json", toy.vocabs);
        } catch (const std::runtime_error& error) {
          EXPECT_NE(std::string(error.what()).find("broken.json' is not valid JSON"), std::string::npos) << error.what();
          throw;
        }
      },
      std::runtime_error);
  auto json = nlohmann::json::parse(std::ifstream(shortlist_path(dir)));
  json["frequent"] = {1, 999};
  test::write_file(dir + "/range.json", json.dump());
  try {
    Shortlist::load(dir + "/range.json", toy.vocabs);
    ADD_FAILURE() << "an id out of range was accepted";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("'frequent' holds 999, not a token id below"), std::string::npos)
        << error.what();
  }
}

TEST(Shortlist, RanksUnknownTargetTokensAmongTheFrequentOnesWhereTheTargetsHoldThem) {
  // Target words seen once fall out of a vocabulary of min frequency 2: runs bird fish horse
  // mouse all become <unk>, the most frequent target token (5, against a 4, the 2, dog 2).
  const Toy toy = toy_corpus({{"der hund", "the dog"}, {"der hund läuft", "the dog runs"}, {"ein vogel", "a bird"},
                              {"ein fisch", "a fish"}, {"ein pferd", "a horse"}, {"eine maus", "a mouse"}},
                             2);
  const Vocab& tgt = toy.vocabs.tgt;
  ASSERT_EQ(tgt.id("bird"), kUnk);
  const Shortlist list = Shortlist::build(toy.corpus, toy.vocabs, 2, 1);
  const std::vector<int32_t> hund{toy.vocabs.src.id("hund")};
  EXPECT_EQ(list.candidates(hund.data(), 1, 1, 0), ids_of(tgt, {"</s>", "<unk>"}));
  EXPECT_EQ(list.candidates(hund.data(), 1, 2, 0), ids_of(tgt, {"</s>", "<unk>", "a"}));
  // A source token's own translations never include <unk>: "vogel" only ever meets "a" and <unk>.
  const std::vector<int32_t> vogel{toy.vocabs.src.id("vogel")};
  EXPECT_EQ(list.candidates(vogel.data(), 1, 0, 1), ids_of(tgt, {"</s>", "a"}));
  // Targets without <unk> (kPairs, every word kept) leave it out, as the first test's lists show.
  const Toy plain = toy_corpus(kPairs);
  const Shortlist roomy = Shortlist::build(plain.corpus, plain.vocabs, 1000, 1000);
  const std::vector<int32_t> der{plain.vocabs.src.id("der")};
  const auto all = roomy.candidates(der.data(), 1, 1000, 1000);
  EXPECT_FALSE(std::binary_search(all.begin(), all.end(), int64_t{kUnk}));
}

TEST(Shortlist, GreedyDecodingEqualsFullDecodingWhenEachListHoldsTheTokensFullDecodingProduced) {
  const Sequences src = sentences();
  for (const std::string cell : {"gru", "lstm"}) {
    auto model = random_model(cell, cell == "gru" ? "general" : "dot", 7);
    const auto options = options_with_beam(1);
    const auto full = decode_sequences(model, src, options, 4, torch::kCPU);
    // Each list: the tokens full decoding produced, EOS, and a different handful of others.
    std::vector<std::vector<int64_t>> lists;
    for (size_t i = 0; i < src.size(); ++i) {
      std::set<int64_t> ids(full[i][0].tokens.begin(), full[i][0].tokens.end());
      ids.insert(kEos);
      for (int64_t id = 4; id < kVocab; ++id)
        if ((id * 7 + static_cast<int64_t>(i)) % 5 == 0) ids.insert(id);
      lists.emplace_back(ids.begin(), ids.end());
    }
    const auto restricted = decode_sequences({DecodingMember{model, &src, 1.0}}, options, 4, torch::kCPU, &lists);
    size_t smaller_lists = 0;
    for (size_t i = 0; i < src.size(); ++i) {
      EXPECT_EQ(restricted[i][0].tokens, full[i][0].tokens) << cell << " sentence " << i;
      // Normalised over fewer tokens, each step's log-probability can only rise.
      EXPECT_GE(restricted[i][0].score, full[i][0].score - 1e-5) << cell << " sentence " << i;
      smaller_lists += static_cast<int64_t>(lists[i].size()) < kVocab;
    }
    EXPECT_EQ(smaller_lists, src.size());
  }
}

TEST(Shortlist, NoHypothesisLeavesItsListAndBatchesDoNotChangeTheResult) {
  const Sequences src = sentences();
  auto model = random_model("gru", "general", 11);
  // Small lists that leave out most tokens, each its own: the batch's union is far larger than any one.
  std::vector<std::vector<int64_t>> lists;
  for (size_t i = 0; i < src.size(); ++i) {
    std::vector<int64_t> ids{kEos};
    for (int64_t id = 4; id < kVocab; ++id)
      if ((id + static_cast<int64_t>(i)) % 4 == 0) ids.push_back(id);
    lists.push_back(ids);
  }
  for (const int64_t beam : {1, 4}) {
    const auto options = options_with_beam(beam);
    const std::vector<DecodingMember> members = {{model, &src, 1.0}};
    const auto batched = decode_sequences(members, options, 8, torch::kCPU, &lists);
    for (size_t i = 0; i < src.size(); ++i) {
      ASSERT_FALSE(batched[i].empty());
      for (const auto& hypothesis : batched[i])
        for (const int32_t token : hypothesis.tokens)
          EXPECT_TRUE(std::binary_search(lists[i].begin(), lists[i].end(), token))
              << "beam " << beam << " sentence " << i << " produced " << token;
      Sequences one;
      one.push_back(std::vector<int32_t>(src.data(i), src.data(i) + src.length(i)));
      const std::vector<std::vector<int64_t>> own = {lists[i]};
      const auto single = decode_sequences({{model, &one, 1.0}}, options, 1, torch::kCPU, &own)[0];
      ASSERT_EQ(single.size(), batched[i].size()) << "beam " << beam << " sentence " << i;
      for (size_t k = 0; k < single.size(); ++k) {
        EXPECT_EQ(single[k].tokens, batched[i][k].tokens) << "beam " << beam << " sentence " << i;
        EXPECT_NEAR(single[k].score, batched[i][k].score, 1e-4) << "beam " << beam << " sentence " << i;
      }
    }
  }
}

TEST(Shortlist, InInt8TheListsRowsAreQuantizedLikeTheWholeOutputLayer) {
  auto model = random_model("gru", "general", 13);
  const Int8Weights weights = model->int8_weights();
  const Int8Scope scope(&weights);
  torch::InferenceMode inference;
  const auto src = torch::tensor({4, 5, 6, 7}, torch::kInt64).view({4, 1});
  auto state = model->start(src, torch::tensor({4}, torch::kInt64));
  const auto ids = torch::tensor({3, 5, 8, 13, 21}, torch::kInt64);
  auto restricted = state;
  model->decoder()->restrict_output(restricted, ids, torch::ones({1, 5}, torch::kBool));
  ASSERT_NE(restricted.output.int8, nullptr);
  const auto previous = torch::tensor({kSos}, torch::kInt64);
  const auto full_logits = model->decoder()->step(state, previous).logits;
  const auto list_logits = model->decoder()->step(restricted, previous).logits;
  // Per-row scales: the list's rows quantize as they do within the whole layer, so the logits are the same.
  const auto listed = list_logits.narrow(1, 0, 5);
  EXPECT_TRUE(torch::allclose(listed, full_logits.index_select(1, ids), 1e-5, 1e-5))
      << listed << full_logits.index_select(1, ids);
  // The list is padded to 64 columns (one kernel shape for lists of about one length), allowed to no row.
  ASSERT_EQ(restricted.output.ids.size(0), 64);
  EXPECT_TRUE(restricted.output.ids.narrow(0, 0, 5).equal(ids));
  EXPECT_TRUE(list_logits.narrow(1, 5, 59).isinf().all().item<bool>()) << list_logits;
}

TEST(Shortlist, CommandBuildsTheListAndDecodingUsesItOrSaysWhatIsMissing) {
  const auto dir = test::scratch_dir("shortlist-cli");
  const Config config = test::trained_tiny_model(dir + "/a", 40, 40);
  const std::string nmt = NMT_BINARY, model = config.training.dir;
  const std::string input = " --input " + config.data.test.src + " --log-level warn";
  std::string output, full, listed;
  EXPECT_EQ(test::run_command(nmt + " translate --shortlist --model " + model + input, &output), 1);
  EXPECT_NE(output.find("has no shortlist"), std::string::npos) << output;
  EXPECT_NE(output.find("nmt shortlist --model " + model), std::string::npos) << output;

  ASSERT_EQ(test::run_command("cd " + std::string(NMT_SOURCE_DIR) + " && " + nmt + " shortlist --model " + model +
                                  " --frequent 20 --per-source 10",
                              &output),
            0)
      << output;
  EXPECT_TRUE(fs::exists(shortlist_path(model)));
  EXPECT_NE(output.find("of reference tokens covered"), std::string::npos) << output;
  ASSERT_EQ(test::run_command(nmt + " translate --model " + model + input, &full), 0) << full;
  ASSERT_EQ(test::run_command(nmt + " translate --shortlist --set decoding.shortlist_frequent=20 --set "
                                    "decoding.shortlist_per_source=10 --model " + model + input, &listed), 0)
      << listed;
  EXPECT_EQ(std::count(listed.begin(), listed.end(), '\n'), std::count(full.begin(), full.end(), '\n'));
  // int8 with the shortlist, alone and as an ensemble of the model with itself: the same output.
  // (stdout only: LibTorch 2.x warns on stderr, with a timestamp, that quantized tensors are deprecated.)
  const std::string int8_list = " translate --shortlist --precision int8 --beam 3 --set decoding.shortlist_frequent=20 "
                                "--set decoding.shortlist_per_source=10 --model " + model;
  std::string pair;
  ASSERT_EQ(test::run_command(nmt + int8_list + input + " 2>/dev/null", &output), 0) << output;
  ASSERT_EQ(test::run_command(nmt + int8_list + " --model " + model + input + " 2>/dev/null", &pair), 0) << pair;
  EXPECT_EQ(pair, output);
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), std::count(full.begin(), full.end(), '\n'));
  EXPECT_EQ(test::run_command(nmt + " translate --shortlist --model " + model + input, &output), 1);
  EXPECT_NE(output.find("decoding.shortlist_frequent 100 and decoding.shortlist_per_source 50 ask for more than"),
            std::string::npos) << output;

  // A list built for another vocabulary.
  Config other = test::tiny_training_config(dir + "/b");
  other.data.vocab.max_size = 20;
  preprocess(other, false);
  ASSERT_EQ(train(other, {}), 0);
  ASSERT_EQ(test::run_command("cd " + std::string(NMT_SOURCE_DIR) + " && " + nmt + " shortlist --model " +
                                  other.training.dir, &output), 0) << output;
  fs::copy_file(shortlist_path(other.training.dir), shortlist_path(model), fs::copy_options::overwrite_existing);
  EXPECT_EQ(test::run_command(nmt + " translate --shortlist --model " + model + input, &output), 1);
  EXPECT_NE(output.find("was built for other vocabularies"), std::string::npos) << output;
}
