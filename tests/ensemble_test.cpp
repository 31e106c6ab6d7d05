// Ensemble decoding: the combination rule, one model and a model with itself against the model
// alone, batched against one sentence at a time, and the CLI's checks.
#include <gtest/gtest.h>

#include <filesystem>

#include "config/config.hpp"
#include "data/corpus.hpp"
#include "model/seq2seq.hpp"
#include "search/decode_corpus.hpp"
#include "search/search.hpp"
#include "random_seq2seq.hpp"
#include "test_util.hpp"
#include "tiny_training.hpp"

using namespace nmt;
namespace fs = std::filesystem;

namespace {

using test::options_with_beam;

constexpr int64_t kVocab = 30;

Seq2Seq random_model(const std::string& cell, const std::string& attention, uint64_t seed) {
  return test::random_seq2seq(cell, attention, seed, kVocab);
}

Sequences sentences() {
  Sequences src;
  const std::vector<std::vector<int32_t>> lines = {{4, 5, 6, 7}, {8, 9}, {}, {10, 11, 12, 13, 14, 15, 16}, {17},
                                                   {18, 19, 20}, {21, 22, 23, 24, 25}, {26, 27}, {28, 29, 4, 5}};
  for (const auto& line : lines) src.push_back(line);
  return src;
}

std::vector<int32_t> sentence(const Sequences& src, size_t i) {
  return std::vector<int32_t>(src.data(i), src.data(i) + src.length(i));
}

// The same sentences as another model would encode them: other ids, and lengths that sort the
// sentences in another order (so the ensemble must realign that model's rows).
Sequences other_encoding(const Sequences& src) {
  Sequences other;
  for (size_t i = 0; i < src.size(); ++i) {
    std::vector<int32_t> ids;
    for (const int32_t id : sentence(src, i)) ids.push_back(4 + (id * 7) % (kVocab - 4));
    if (!ids.empty()) ids.resize(static_cast<size_t>(10 - static_cast<int64_t>(ids.size())), 5);  // long <-> short
    other.push_back(ids);
  }
  return other;
}


void expect_same_hypotheses(const std::vector<std::vector<Hypothesis>>& a, const std::vector<std::vector<Hypothesis>>& b,
                            double score_tolerance, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].size(), b[i].size()) << what << " sentence " << i;
    for (size_t k = 0; k < a[i].size(); ++k) {
      EXPECT_EQ(a[i][k].tokens, b[i][k].tokens) << what << " sentence " << i << " candidate " << k;
      if (score_tolerance == 0)
        EXPECT_EQ(a[i][k].score, b[i][k].score) << what << " sentence " << i;
      else
        EXPECT_NEAR(a[i][k].score, b[i][k].score, score_tolerance) << what << " sentence " << i;
    }
  }
}

// A fixed next-token distribution, whatever the state.
StepFunction constant_step(std::vector<float> probabilities) {
  return [probabilities](DecoderState&, const torch::Tensor& previous) {
    const auto row = torch::tensor(probabilities).log();
    return DecoderOutput{row.unsqueeze(0).expand({previous.size(0), row.size(0)}).clone(), torch::Tensor()};
  };
}

DecoderState one_row_state() {
  DecoderState state;
  state.mask = torch::ones({1, 1}, torch::kBool);
  return state;
}

}  // namespace

TEST(Ensemble, StepScoresAreTheWeightedMeanOfTheMembersLogProbabilities) {
  std::vector<std::unique_ptr<StepScorer>> members;
  members.push_back(std::make_unique<DecoderScorer>(constant_step({0.1f, 0.2f, 0.3f, 0.4f}), one_row_state()));
  members.push_back(std::make_unique<DecoderScorer>(constant_step({0.4f, 0.3f, 0.2f, 0.1f}), one_row_state()));
  EnsembleScorer ensemble(std::move(members), {3.0, 1.0});
  const auto scores = ensemble.step(torch::tensor({kSos}, torch::kInt64)).log_probs;
  const std::vector<double> a = {0.1, 0.2, 0.3, 0.4}, b = {0.4, 0.3, 0.2, 0.1};
  for (int64_t v = 0; v < 4; ++v)
    EXPECT_NEAR(scores[0][v].item<double>(), 0.75 * std::log(a[v]) + 0.25 * std::log(b[v]), 1e-6) << v;
  EXPECT_THROW(EnsembleScorer({}, {}), std::invalid_argument);
}

TEST(Ensemble, OfOneModelIsBitIdenticalToTheModelAloneAndOfAModelWithItselfTranslatesTheSame) {
  const Sequences src = sentences();
  for (const std::string cell : {"gru", "lstm"}) {
    auto model = random_model(cell, "general", 5);
    for (const int64_t beam : {1, 4}) {
      const auto options = options_with_beam(beam);
      const std::string what = cell + " beam " + std::to_string(beam);
      // The model alone: the search straight over its decoder, one batch of the non-empty sentences.
      std::vector<int64_t> rows;
      for (size_t i = 0; i < src.size(); ++i)
        if (src.length(i) > 0) rows.push_back(static_cast<int64_t>(i));
      const Batch batch = collate(src, nullptr, rows);
      torch::InferenceMode inference;
      auto decoder = model->decoder();
      DecoderScorer alone_scorer([&](DecoderState& s, const torch::Tensor& p) { return decoder->step(s, p); },
                                 model->start(batch.src, batch.src_len));
      const std::vector<int64_t> lengths(batch.src_len.data_ptr<int64_t>(), batch.src_len.data_ptr<int64_t>() + batch.size());
      const auto alone_batch = beam > 1 ? beam_search(alone_scorer, lengths, options) : greedy_search(alone_scorer, lengths, options);
      std::vector<std::vector<Hypothesis>> alone(src.size(), std::vector<Hypothesis>(1));
      for (size_t r = 0; r < alone_batch.size(); ++r) alone[static_cast<size_t>(batch.indices[r])] = alone_batch[r];

      expect_same_hypotheses(decode_sequences({DecodingMember{model, &src, 1.0}}, options, 16, torch::kCPU), alone, 0,
                             what + ", ensemble of one");
      // (a + a) / 2 is a in floating point: the same translations and scores.
      expect_same_hypotheses(
          decode_sequences({DecodingMember{model, &src, 1.0}, DecodingMember{model, &src, 1.0}}, options, 16, torch::kCPU),
          alone, 0, what + ", the model with itself");
    }
  }
}

TEST(Ensemble, BatchedDecodingIsExactAgainstOneSentenceAtATime) {
  // Members that differ in cell, attention and sizes, each with its own source encoding.
  const Sequences src = sentences(), other = other_encoding(src);
  auto gru = random_model("gru", "general", 1);
  auto lstm = random_model("lstm", "dot", 2);
  const std::vector<DecodingMember> members = {{gru, &src, 0.6}, {lstm, &other, 0.4}};
  for (const int64_t beam : {1, 5}) {
    const auto options = options_with_beam(beam);
    const auto batched = decode_sequences(members, options, 4, torch::kCPU);
    std::vector<std::vector<Hypothesis>> single;
    for (size_t i = 0; i < src.size(); ++i) {
      Sequences one_src, one_other;
      one_src.push_back(sentence(src, i));
      one_other.push_back(sentence(other, i));
      single.push_back(decode_sequences({{gru, &one_src, 0.6}, {lstm, &one_other, 0.4}}, options, 1, torch::kCPU)[0]);
    }
    expect_same_hypotheses(batched, single, 1e-4, "beam " + std::to_string(beam));
    // And the ensemble is neither member alone.
    const auto gru_alone = decode_sequences(gru, src, options, 4, torch::kCPU);
    const auto lstm_alone = decode_sequences(lstm, other, options, 4, torch::kCPU);
    size_t differs_from_gru = 0, differs_from_lstm = 0;
    for (size_t i = 0; i < src.size(); ++i) {
      differs_from_gru += batched[i][0].tokens != gru_alone[i][0].tokens;
      differs_from_lstm += batched[i][0].tokens != lstm_alone[i][0].tokens;
    }
    EXPECT_GT(differs_from_gru + differs_from_lstm, 0u) << "beam " << beam;
  }
}

TEST(Ensemble, TranslateAndEvaluateTakeSeveralModelsAndRefuseAMismatch) {
  const auto dir = test::scratch_dir("ensemble-cli");
  const Config a = test::trained_tiny_model(dir + "/a", 12, 6);
  const std::string nmt = NMT_BINARY, model = a.training.dir;
  const std::string input = " --input " + a.data.valid.src + " --log-level warn";
  std::string alone, pair, output;
  ASSERT_EQ(test::run_command(nmt + " translate --beam 3 --model " + model + input, &alone), 0) << alone;
  // A model with itself, the second time named by its checkpoint file, with weights.
  ASSERT_EQ(test::run_command(nmt + " translate --beam 3 --model " + model + " --model " + model +
                                  "/checkpoints/ckpt-12.pt --weights 2 2" + input, &pair), 0) << pair;
  EXPECT_EQ(pair, alone);
  ASSERT_EQ(test::run_command(nmt + " evaluate --json --model " + model + " --model " + model + " --src " +
                                  a.data.valid.src + " --ref " + a.data.valid.tgt + " --log-level warn", &output), 0)
      << output;
  const auto report = nlohmann::json::parse(output);
  EXPECT_EQ(report["models"].size(), 2u);
  EXPECT_FALSE(report.contains("loss"));  // one model's measure

  EXPECT_NE(test::run_command(nmt + " translate --model " + model + " --model " + model + " --weights 1" + input, &output), 0);
  EXPECT_NE(output.find("--weights: 1 weights for 2 models"), std::string::npos) << output;
  EXPECT_NE(test::run_command(nmt + " translate --model " + model + " --model " + model + " --checkpoint " + model +
                                  "/checkpoints/ckpt-6.pt" + input, &output), 0);
  EXPECT_NE(output.find("--checkpoint picks the checkpoint of a single --model"), std::string::npos) << output;

  // Another target vocabulary: the toy data with a capped vocabulary.
  Config b = test::tiny_training_config(dir + "/b");
  b.data.vocab.max_size = 20;
  preprocess(b, false);
  ASSERT_EQ(train(b, {}), 0);
  EXPECT_NE(test::run_command(nmt + " translate --model " + model + " --model " + b.training.dir + input, &output), 0);
  EXPECT_NE(output.find("models '" + model + "' and '" + b.training.dir + "' have different target vocabularies"),
            std::string::npos) << output;
}
