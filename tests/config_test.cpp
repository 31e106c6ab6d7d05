#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config/config_error.hpp"

using namespace nmt;

namespace {
std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  try {
    parse_config(yaml, "c.yaml", overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Config, DefaultsWhenEmpty) {
  const Config c = parse_config("", "c.yaml");
  EXPECT_EQ(c.model.cell, "gru");
  EXPECT_EQ(c.data.max_len, 100);
  EXPECT_EQ(c.training.batch_size, 64);
  EXPECT_DOUBLE_EQ(c.training.lr, 1e-3);
  EXPECT_EQ(c.data.tokenizer.type, "word");
}

TEST(Config, ReadsNestedValues) {
  const Config c = parse_config("data:\n  train: {src: a.de, tgt: a.en}\n  vocab: {min_freq: 2, shared: true}\n"
                                "model: {cell: lstm, dropout: 0.3}\ntraining: {max_steps: 7}\n",
                                "c.yaml");
  EXPECT_EQ(c.data.train.src, "a.de");
  EXPECT_EQ(c.data.vocab.min_freq, 2);
  EXPECT_TRUE(c.data.vocab.shared);
  EXPECT_EQ(c.model.cell, "lstm");
  EXPECT_DOUBLE_EQ(c.model.dropout, 0.3);
  EXPECT_EQ(c.training.max_steps, 7);
}

TEST(Config, UnknownKeyNamesPathAndLine) {
  const auto message = error_of("model:\n  cell: gru\n  hiden: 3\n");
  EXPECT_NE(message.find("model.hiden"), std::string::npos) << message;
  EXPECT_NE(message.find("c.yaml:3"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown key"), std::string::npos) << message;
}

TEST(Config, KeyGivenTwiceNamesFileLineAndKeyPath) {
  const auto message = error_of("data:\n  max_len: 5\n  max_len: 7\n");
  EXPECT_NE(message.find("c.yaml:3"), std::string::npos) << message;
  EXPECT_NE(message.find("'data.max_len'"), std::string::npos) << message;
  EXPECT_NE(message.find("given twice (first at line 2)"), std::string::npos) << message;
  // A section given twice, and a key twice inside a flow mapping.
  EXPECT_NE(error_of("model: {cell: gru}\ntraining: {lr: 1}\nmodel: {dropout: 0.1}\n").find("c.yaml:3: key 'model'"),
            std::string::npos);
  EXPECT_NE(error_of("training: {lr: 1, lr: 2}\n").find("'training.lr': given twice"), std::string::npos);
  // The same key in different sections is fine.
  EXPECT_EQ(error_of("training: {batch_size: 8}\ndecoding: {batch_size: 8}\n"), "");
}

TEST(Config, TokenBatchesMustHoldALongSentenceAndMinLrStaysBelowLr) {
  const auto small = error_of("data: {max_len: 64}\ntraining: {batch_tokens: 10}\n");
  EXPECT_NE(small.find("'training.batch_tokens'"), std::string::npos) << small;
  EXPECT_NE(small.find("use at least 65"), std::string::npos) << small;
  EXPECT_EQ(error_of("data: {max_len: 64}\ntraining: {batch_tokens: 65}\n"), "");
  EXPECT_NE(error_of("training: {lr: 0.001, min_lr: 0.01, lr_schedule: plateau}\n").find("'training.min_lr'"),
            std::string::npos);
  EXPECT_EQ(error_of("training: {lr: 0.001, min_lr: 0.01, lr_schedule: inverse_sqrt}\n"), "");
}

TEST(Config, UnknownSection) {
  EXPECT_NE(error_of("modle: {cell: gru}\n").find("'modle'"), std::string::npos);
}

TEST(Config, WrongTypeNamesKey) {
  const auto message = error_of("training:\n  batch_size: many\n");
  EXPECT_NE(message.find("training.batch_size"), std::string::npos) << message;
  EXPECT_NE(message.find("integer"), std::string::npos) << message;
  EXPECT_NE(message.find("c.yaml:2"), std::string::npos) << message;
  EXPECT_NE(error_of("data: {vocab: {shared: maybe}}").find("boolean"), std::string::npos);
  EXPECT_NE(error_of("model: {cell: [gru]}").find("model.cell"), std::string::npos);
}

TEST(Config, OutOfRangeAndChoices) {
  EXPECT_NE(error_of("model: {dropout: 1.5}").find("out of range"), std::string::npos);
  EXPECT_NE(error_of("model: {init_uniform: -0.1}").find("model.init_uniform"), std::string::npos);
  EXPECT_NE(error_of("training: {batch_size: 0}").find("training.batch_size"), std::string::npos);
  const auto message = error_of("model: {cell: transformer}");
  EXPECT_NE(message.find("model.cell"), std::string::npos);
  EXPECT_NE(message.find("rnn | gru | lstm"), std::string::npos) << message;
}

TEST(Config, OverridesAreTypeChecked) {
  const Config c = parse_config("model: {cell: gru}", "c.yaml", {"model.cell=lstm", "training.lr=0.5"});
  EXPECT_EQ(c.model.cell, "lstm");
  EXPECT_DOUBLE_EQ(c.training.lr, 0.5);
  EXPECT_NE(error_of("", {"training.batch_size=x"}).find("training.batch_size"), std::string::npos);
  EXPECT_NE(error_of("", {"training.nope=1"}).find("unknown key 'training.nope'"), std::string::npos);
  EXPECT_NE(error_of("", {"novalue"}).find("key.path=value"), std::string::npos);
}

TEST(Config, IncompatibleCombinationIsRefused) {
  EXPECT_NE(error_of("model: {attention: dot, enc_hidden: 100, dec_hidden: 512}").find("model.attention"),
            std::string::npos);
}

TEST(Config, TiedEmbeddingsNeedEqualWidthsOnlyWithoutAttention) {
  EXPECT_NE(error_of("model: {attention: none, tie_embeddings: true, emb_size: 256, dec_hidden: 512}")
                .find("model.tie_embeddings"),
            std::string::npos);
  EXPECT_EQ(error_of("model: {attention: general, tie_embeddings: true, emb_size: 256, dec_hidden: 512}"), "");
}

TEST(Config, TiedAllEmbeddingsNeedTiedOutputAndASharedVocabulary) {
  EXPECT_NE(error_of("model: {tie_all_embeddings: true}\ndata: {vocab: {shared: true}}").find("model.tie_all_embeddings"),
            std::string::npos);
  EXPECT_NE(error_of("model: {tie_embeddings: true, tie_all_embeddings: true}").find("model.tie_all_embeddings"),
            std::string::npos);
  EXPECT_EQ(error_of("model: {tie_embeddings: true, tie_all_embeddings: true}\ndata: {vocab: {shared: true}}"), "");
}

TEST(Config, SectionDumpedBeforeAKeyExistedEqualsTodaysDumpWithTheDefault) {
  const Config lstm = parse_config("model: {cell: lstm, tie_embeddings: true}", "c.yaml");
  std::string older = dump_section(lstm, "model");  // as a checkpoint from before tie_all_embeddings stores it
  const std::string added_key = "  tie_all_embeddings: false\n";
  const auto at = older.find(added_key);
  ASSERT_NE(at, std::string::npos) << older;
  older.erase(at, added_key.size());
  EXPECT_EQ(section_with_defaults(older, "model"), dump_section(lstm, "model"));
  const Config gru = parse_config("model: {cell: gru, tie_embeddings: true}", "c.yaml");
  EXPECT_NE(section_with_defaults(older, "model"), dump_section(gru, "model"));
}

TEST(Config, DumpRoundTrips) {
  const Config c = parse_config("model: {cell: lstm, dropout: 0.2}\ndata: {train: {src: x}}", "c.yaml");
  const std::string text = dump_config(c);
  EXPECT_NE(text.find("dropout: 0.2\n"), std::string::npos) << text;
  const Config again = parse_config(text, "dump.yaml");
  EXPECT_EQ(dump_config(again), text);
  EXPECT_EQ(again.model.cell, "lstm");
  EXPECT_EQ(again.data.train.src, "x");
}

TEST(Config, CosineScheduleNeedsMaxStepsOrMaxMinutes) {
  EXPECT_NE(error_of("training: {lr_schedule: cosine}\n").find("training.lr_schedule"), std::string::npos);
  EXPECT_EQ(error_of("training: {lr_schedule: cosine, max_steps: 100}\n"), "");
  EXPECT_EQ(error_of("training: {lr_schedule: cosine, max_minutes: 35}\n"), "");
}

TEST(Config, AnnealFromIsAFractionOfACosineRun) {
  EXPECT_EQ(error_of("training: {lr_schedule: cosine, max_minutes: 35, anneal_from: 0.7}\n"), "");
  EXPECT_NE(error_of("training: {lr_schedule: plateau, anneal_from: 0.7}\n").find("training.anneal_from"), std::string::npos);
  EXPECT_NE(error_of("training: {lr_schedule: cosine, max_minutes: 35, anneal_from: 1.5}\n").find("training.anneal_from"),
            std::string::npos);
}

TEST(Config, AccumulationAndTheDistributedSectionAreChecked) {
  const Config c = parse_config("training: {accumulate: 4}\ndistributed: {backend: gloo, timeout_seconds: 10}\n", "c.yaml");
  EXPECT_EQ(c.training.accumulate, 4);
  EXPECT_EQ(c.distributed.backend, "gloo");
  EXPECT_EQ(c.distributed.timeout_seconds, 10);
  EXPECT_EQ(parse_config("", "c.yaml").distributed.backend, "auto");
  EXPECT_NE(error_of("training: {accumulate: 0}\n").find("key 'training.accumulate': value 0 is out of range"),
            std::string::npos);
  EXPECT_NE(error_of("distributed: {backend: mpi}\n").find("key 'distributed.backend': 'mpi' is not one of auto | gloo | nccl"),
            std::string::npos);
  EXPECT_NE(error_of("distributed: {timeout_seconds: 0}\n").find("'distributed.timeout_seconds'"), std::string::npos);
  EXPECT_NE(error_of("distributed: {port: 5}\n").find("key 'distributed.port': unknown key"), std::string::npos);
  // A stream LM's batch is one window over all streams, carried state and all: not divisible.
  EXPECT_NE(error_of("task: lm\nmodel: {attention: none}\ntraining: {accumulate: 2}\n").find("'training.accumulate'"),
            std::string::npos);
  EXPECT_EQ(error_of("task: lm\nmodel: {attention: none}\ntraining: {accumulate: 2, lm_mode: sentence}\n"), "");
}
