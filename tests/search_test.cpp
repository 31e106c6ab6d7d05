#include <gtest/gtest.h>

#include "config/config.hpp"
#include "data/corpus.hpp"
#include "data/vocab.hpp"
#include "model/seq2seq.hpp"
#include "search/decode_corpus.hpp"
#include "search/search.hpp"

using namespace nmt;

namespace {
Seq2Seq random_model(const std::string& cell) {
  torch::manual_seed(11);
  ModelConfig config = parse_config("", "t").model;
  config.cell = cell;
  config.emb_size = 16;
  config.enc_hidden = 16;
  config.dec_hidden = 24;
  config.dropout = 0;
  std::unordered_map<std::string, int64_t> counts;
  for (int i = 0; i < 26; ++i) counts["w" + std::to_string(i)] = 100 - i;
  const Vocab vocab = Vocab::build(counts, 1, 0);
  Seq2Seq model(config, vocab.size(), vocab.size());
  model->eval();
  return model;
}

Sequences some_sentences() {
  Sequences src;
  src.push_back({4, 5, 6, 7});
  src.push_back({});
  src.push_back({8, 9});
  src.push_back({10, 11, 12, 13, 14, 15, 16});
  src.push_back({17});
  return src;
}

// A hand-built decoder over 5 tokens (0 PAD, 1 UNK, 2 SOS, 3 EOS, 4 "A"): after SOS it prefers
// A (0.6) over EOS (0.4), but after A it is unsure (EOS 0.5). Greedy takes A EOS (0.3); beam
// search finds the better empty answer, EOS right away (0.4).
DecoderOutput toy_step(DecoderState& state, const torch::Tensor& previous) {
  const int64_t n = previous.size(0);
  auto probs = torch::full({n, 5}, 1e-6);
  for (int64_t i = 0; i < n; ++i) {
    if (previous[i].item<int64_t>() == kSos) {
      probs[i][4] = 0.6;
      probs[i][kEos] = 0.4;
    } else {
      probs[i][kEos] = 0.5;
      probs[i][1] = 0.25;
      probs[i][4] = 0.25;
    }
  }
  return {probs.log(), torch::Tensor()};
}

DecoderState toy_state(int64_t n) {
  DecoderState state;
  state.mask = torch::ones({n, 1}, torch::kBool);
  return state;
}
}  // namespace

TEST(Search, BeamOfOneEqualsGreedy) {
  for (const std::string cell : {"gru", "lstm"}) {
    auto model = random_model(cell);
    const auto src = some_sentences();
    SearchOptions greedy;
    greedy.max_len_b = 12;
    SearchOptions beam1 = greedy;
    beam1.beam_size = 1;
    const auto a = decode_sequences(model, src, greedy, 2, torch::kCPU);
    // Force the beam code path with K=1.
    auto decoder = model->decoder();
    const StepFunction step = [&](DecoderState& s, const torch::Tensor& p) { return decoder->step(s, p); };
    const Batch batch = collate(src, nullptr, {0, 2, 3, 4});
    torch::InferenceMode guard;
    auto state = model->start(batch.src, batch.src_len);
    std::vector<int64_t> lengths(batch.src_len.data_ptr<int64_t>(), batch.src_len.data_ptr<int64_t>() + batch.size());
    DecoderScorer greedy_scorer(step, state), beam_scorer(step, state);
    const auto greedy_out = greedy_search(greedy_scorer, lengths, greedy);
    const auto beam_out = beam_search(beam_scorer, lengths, beam1);
    for (size_t i = 0; i < greedy_out.size(); ++i) {
      EXPECT_EQ(greedy_out[i][0].tokens, beam_out[i][0].tokens) << cell;
      EXPECT_NEAR(greedy_out[i][0].score, beam_out[i][0].score, 1e-4) << cell;
      EXPECT_EQ(greedy_out[i][0].tokens, a[static_cast<size_t>(batch.indices[i])][0].tokens) << cell;
    }
  }
}

TEST(Search, BeamFindsHigherScoringHypothesis) {
  SearchOptions options;
  options.max_len_a = 0;
  options.max_len_b = 5;
  options.length_penalty = 0;
  DecoderScorer greedy_scorer(toy_step, toy_state(1));
  const auto greedy = greedy_search(greedy_scorer, {1}, options);
  EXPECT_EQ(greedy[0][0].tokens, (std::vector<int32_t>{4}));
  EXPECT_NEAR(greedy[0][0].score, std::log(0.6 * 0.5), 1e-5);
  options.beam_size = 2;
  options.nbest = 2;
  DecoderScorer beam_scorer(toy_step, toy_state(1));
  const auto beam = beam_search(beam_scorer, {1}, options);
  ASSERT_EQ(beam[0].size(), 2u);
  EXPECT_TRUE(beam[0][0].tokens.empty());
  EXPECT_NEAR(beam[0][0].score, std::log(0.4), 1e-5);
  EXPECT_GT(beam[0][0].score, greedy[0][0].score);
  EXPECT_EQ(beam[0][1].tokens, (std::vector<int32_t>{4}));
}

TEST(Search, OrderAndEmptyLinesSurviveBatching) {
  auto model = random_model("gru");
  const auto src = some_sentences();
  SearchOptions options;
  const auto batched = decode_sequences(model, src, options, 2, torch::kCPU);
  ASSERT_EQ(batched.size(), src.size());
  EXPECT_TRUE(batched[1][0].tokens.empty());  // the empty sentence
  for (size_t i = 0; i < src.size(); ++i) {
    if (src.length(i) == 0) continue;
    Sequences alone;
    alone.push_back(std::vector<int32_t>(src.data(i), src.data(i) + src.length(i)));
    EXPECT_EQ(decode_sequences(model, alone, options, 1, torch::kCPU)[0][0].tokens, batched[i][0].tokens) << i;
  }
}

TEST(Search, BatchedBeamEqualsOneSentenceAtATime) {
  auto model = random_model("lstm");
  const auto src = some_sentences();
  for (const bool stop_at_best : {false, true}) {
    SearchOptions options;
    options.beam_size = 4;
    options.nbest = 2;
    options.max_len_b = 8;
    options.stop_at_best = stop_at_best;
    const auto batched = decode_sequences(model, src, options, 5, torch::kCPU);
    for (size_t i = 0; i < src.size(); ++i) {
      Sequences alone;
      alone.push_back(std::vector<int32_t>(src.data(i), src.data(i) + src.length(i)));
      const auto single = decode_sequences(model, alone, options, 1, torch::kCPU)[0];
      ASSERT_EQ(single.size(), batched[i].size()) << i;
      for (size_t n = 0; n < single.size(); ++n) {
        EXPECT_EQ(single[n].tokens, batched[i][n].tokens) << i << "/" << n << " stop_at_best " << stop_at_best;
        EXPECT_NEAR(single[n].score, batched[i][n].score, 1e-4) << i << "/" << n;
      }
    }
  }
}

// A decoder that prefers EOS right after SOS (0.6, A 0.4), then EOS 0.5, A and UNK 0.25. With
// beam 2 the full rule waits for a second ended hypothesis (step 2: A EOS); stop_at_best ends at
// step 1, when the ended EOS (0.6) already ranks above every live hypothesis (A: 0.4).
TEST(Search, StopAtBestEndsOnceTheBestEndedHypothesisOutranksTheLiveOnes) {
  int steps = 0;
  const StepFunction step = [&steps](DecoderState&, const torch::Tensor& previous) {
    ++steps;
    auto probs = torch::full({previous.size(0), 5}, 1e-6);
    for (int64_t i = 0; i < previous.size(0); ++i) {
      const bool first = previous[i].item<int64_t>() == kSos;
      probs[i][kEos] = first ? 0.6 : 0.5;
      probs[i][4] = first ? 0.4 : 0.25;
      if (!first) probs[i][1] = 0.25;
    }
    return DecoderOutput{probs.log(), torch::Tensor()};
  };
  SearchOptions options;
  options.max_len_a = 0;
  options.max_len_b = 6;
  options.length_penalty = 0;
  options.beam_size = 2;
  DecoderScorer full_scorer(step, toy_state(1));
  const auto full = beam_search(full_scorer, {1}, options);
  EXPECT_EQ(steps, 2);
  steps = 0;
  options.stop_at_best = true;
  DecoderScorer best_scorer(step, toy_state(1));
  const auto best = beam_search(best_scorer, {1}, options);
  EXPECT_EQ(steps, 1);
  EXPECT_TRUE(best[0][0].tokens.empty());
  EXPECT_EQ(best[0][0].tokens, full[0][0].tokens);
  EXPECT_NEAR(best[0][0].score, std::log(0.6), 1e-5);
  // The config key selects it.
  EXPECT_TRUE(search_options(parse_config("decoding: {beam_stop: best}", "t").decoding).stop_at_best);
  EXPECT_FALSE(search_options(parse_config("", "t").decoding).stop_at_best);
}

TEST(Search, RespectsMaxLength) {
  auto model = random_model("gru");
  SearchOptions options;
  options.max_len_a = 0;
  options.max_len_b = 3;
  for (const auto& result : decode_sequences(model, some_sentences(), options, 8, torch::kCPU))
    EXPECT_LE(result[0].tokens.size(), 3u);
}
