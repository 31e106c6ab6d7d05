// End-to-end runs of the nmt binary on the embedded toy data.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/files.hpp"
#include "test_util.hpp"

using nmt::test::run_command;
namespace fs = std::filesystem;

namespace {
std::string nmt_command(const std::string& args) { return std::string(NMT_BINARY) + " " + args; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Preprocesses the toy data and trains a small model for `steps` steps; returns the work dir.
std::string trained_toy_model(const std::string& name, int steps, const std::string& extra = "") {
  const std::string dir = nmt::test::scratch_dir(name);
  const std::string sets = "--set data.dir=" + dir + "/data --set training.dir=" + dir + "/model" +
                           " --set model.emb_size=32 --set model.enc_hidden=32 --set model.dec_hidden=64" +
                           " --set training.max_steps=" + std::to_string(steps) + " --set training.valid_every=" +
                           std::to_string(steps) + " " + extra;
  std::string output;
  const std::string config = nmt::test::source_path("configs/toy.yaml");
  EXPECT_EQ(run_command("cd " + std::string(NMT_SOURCE_DIR) + " && " + nmt_command("preprocess --config " + config + " " + sets), &output), 0) << output;
  EXPECT_EQ(run_command("cd " + std::string(NMT_SOURCE_DIR) + " && " + nmt_command("train --config " + config + " " + sets), &output), 0) << output;
  return dir;
}
}  // namespace

TEST(Cli, HelpVersionAndUnknownCommand) {
  std::string output;
  EXPECT_EQ(run_command(nmt_command("--version"), &output), 0);
  EXPECT_NE(output.find("nmt 0."), std::string::npos);
  EXPECT_EQ(run_command(nmt_command("--help"), &output), 0);
  for (const char* command : {"preprocess", "train", "translate", "evaluate", "config", "info"})
    EXPECT_NE(output.find(command), std::string::npos) << command;
  EXPECT_EQ(run_command(nmt_command("train --help"), &output), 0);
  EXPECT_NE(output.find("--resume"), std::string::npos);
  EXPECT_NE(run_command(nmt_command("frobnicate"), &output), 0);
}

// The allocator CMake linked into the binary is the one serving its malloc (a link flag that dropped
// it would leave glibc's in place without a word).
TEST(Cli, InfoNamesTheAllocatorTheBuildLinked) {
  std::string output;
  ASSERT_EQ(run_command(nmt_command("info"), &output), 0) << output;
  EXPECT_NE(output.find(std::string("allocator:      ") + NMT_ALLOCATOR + "\n"), std::string::npos) << output;
}

TEST(Cli, ConfigErrorsAreOneParagraphWithExitCode) {
  const std::string dir = nmt::test::scratch_dir("c");
  nmt::test::write_file(dir + "/bad.yaml", "model:\n  cell: gru\n  hidden: 3\n");
  std::string output;
  EXPECT_EQ(run_command(nmt_command("config --config " + dir + "/bad.yaml"), &output), 2);
  EXPECT_NE(output.find("bad.yaml:3: key 'model.hidden': unknown key"), std::string::npos) << output;
  EXPECT_EQ(output.find("terminate"), std::string::npos);
  EXPECT_EQ(run_command(nmt_command("config --set training.lr=fast"), &output), 2);
  EXPECT_NE(output.find("training.lr"), std::string::npos) << output;
  EXPECT_EQ(run_command(nmt_command("config --set model.cell=lstm"), &output), 0);
  EXPECT_NE(output.find("cell: lstm"), std::string::npos) << output;
  EXPECT_NE(output.find("batch_size: 64"), std::string::npos) << output;
}

TEST(Cli, PreprocessTrainTranslateEvaluate) {
  const std::string dir = trained_toy_model("e2e", 200);
  ASSERT_TRUE(fs::exists(dir + "/model/best"));
  ASSERT_TRUE(fs::exists(dir + "/model/config.yaml"));
  ASSERT_TRUE(fs::exists(dir + "/model/train.log"));
  std::string metrics = nmt::read_text_file(dir + "/model/metrics.jsonl");
  EXPECT_NE(metrics.find("\"type\":\"valid\""), std::string::npos);
  EXPECT_NE(metrics.find("\"bleu\""), std::string::npos);

  // One output line per input line, empty lines kept, order preserved across batches.
  nmt::test::write_file(dir + "/in.txt", "three lipe kermair tispi\n\nforty pesgar sosaisze thirty five vaidounroun vangai\n\nseven lipe tispi\n");
  std::string output;
  ASSERT_EQ(run_command(nmt_command("translate --model " + dir + "/model --input " + dir + "/in.txt --batch-size 1 2>/dev/null"), &output), 0);
  auto lines = lines_of(output);
  ASSERT_EQ(lines.size(), 5u) << output;
  EXPECT_EQ(lines[1], "");
  EXPECT_EQ(lines[3], "");
  EXPECT_FALSE(lines[0].empty());
  std::string batched;
  ASSERT_EQ(run_command(nmt_command("translate --model " + dir + "/model --input " + dir + "/in.txt --batch-size 64 2>/dev/null"), &batched), 0);
  EXPECT_EQ(batched, output);
  // Works as a pipe on stdin.
  std::string piped;
  ASSERT_EQ(run_command("cat " + dir + "/in.txt | " + nmt_command("translate --model " + dir + "/model 2>/dev/null"), &piped), 0);
  EXPECT_EQ(piped, output);
  // Each line from a pipe is translated as it arrives, not when the input ends: the writer sends
  // its second line only once the first translation is out (or gives up after 60 s).
  const std::string streamed = dir + "/streamed.txt", gave_up = dir + "/gave_up";
  ASSERT_EQ(run_command("rm -f " + streamed + " " + gave_up + "; { echo 'three lipe kermair tispi'; for i in $(seq 600); do [ -s " + streamed +
                            " ] && break; sleep 0.1; done; [ -s " + streamed + " ] || touch " + gave_up +
                            "; echo 'seven lipe tispi'; } | " +
                            nmt_command("translate --model " + dir + "/model > " + streamed + " 2>/dev/null")),
            0);
  EXPECT_FALSE(fs::exists(gave_up)) << "the first line was not translated before the input ended";
  EXPECT_EQ(lines_of(nmt::read_text_file(streamed)).size(), 2u);

  ASSERT_EQ(run_command(nmt_command("evaluate --json --model " + dir + "/model --src " +
                                    nmt::test::source_path("data/toy.test.src.gz") + " --ref " +
                                    nmt::test::source_path("data/toy.test.tgt.gz") + " 2>/dev/null"),
                        &output),
            0);
  const auto report = nlohmann::json::parse(output);
  for (const char* key : {"bleu", "chrf", "loss", "ppl", "signature", "sentences", "counts", "totals"})
    EXPECT_TRUE(report.contains(key)) << key;
  EXPECT_EQ(report["sentences"], 500);
  EXPECT_GT(report["bleu"].get<double>(), 2.0);  // an untrained model scores ~0
  // evaluate --model equals translating, then scoring the file.
  ASSERT_EQ(run_command(nmt_command("translate --model " + dir + "/model --input " +
                                    nmt::test::source_path("data/toy.test.src.gz") + " --output " + dir + "/hyp.txt 2>/dev/null")),
            0);
  std::string scored;
  ASSERT_EQ(run_command(nmt_command("evaluate --json --hyp " + dir + "/hyp.txt --ref " +
                                    nmt::test::source_path("data/toy.test.tgt.gz")),
                        &scored),
            0);
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(scored)["bleu"].get<double>(), report["bleu"].get<double>());
  EXPECT_GT(report["ppl"].get<double>(), 1.0);

  // --set applies to the model directory's config: decoding keys change the search, model keys
  // no longer match the checkpoint and are refused.
  ASSERT_EQ(run_command(nmt_command("translate --set decoding.beam_size=3 --set decoding.max_len_b=1 --set decoding.max_len_a=0 --model " + dir +
                                    "/model --input " + dir + "/in.txt 2>/dev/null"),
                        &output),
            0);
  for (const auto& line : lines_of(output)) EXPECT_LE(std::count(line.begin(), line.end(), ' '), 0) << line;
  EXPECT_EQ(run_command(nmt_command("translate --set model.emb_size=99 --model " + dir + "/model --input " + dir + "/in.txt"), &output), 1);
  EXPECT_NE(output.find("model_config"), std::string::npos) << output;

  // nbest and scores formats.
  ASSERT_EQ(run_command(nmt_command("translate --model " + dir + "/model --input " + dir + "/in.txt --beam 3 --nbest 2 2>/dev/null"), &output), 0);
  EXPECT_EQ(lines_of(output).size(), 8u);  // 2 per non-empty line, 1 per empty line
  EXPECT_NE(output.find("0 ||| "), std::string::npos);

  // A translation model is not a language model.
  EXPECT_EQ(run_command(nmt_command("generate --model " + dir + "/model"), &output), 1);
  EXPECT_NE(output.find("not 'lm'"), std::string::npos) << output;
  EXPECT_NE(output.find("nmt translate"), std::string::npos) << output;
}

TEST(Cli, ReplaceUnkCopiesAttendedSourceToken) {
  // A target vocabulary of 6 words makes <unk> the most frequent target token.
  const std::string dir = trained_toy_model("unk", 80, "--set data.vocab.max_size=6");
  const std::string input = "three lipe kermair tispi forty five sounzos varbanou\n";
  nmt::test::write_file(dir + "/in.txt", input);
  std::string plain, replaced;
  ASSERT_EQ(run_command(nmt_command("translate --model " + dir + "/model --input " + dir + "/in.txt 2>/dev/null"), &plain), 0);
  ASSERT_NE(plain.find("<unk>"), std::string::npos) << plain;
  ASSERT_EQ(run_command(nmt_command("translate --replace-unk --model " + dir + "/model --input " + dir + "/in.txt 2>/dev/null"), &replaced), 0);
  EXPECT_EQ(replaced.find("<unk>"), std::string::npos) << replaced;
  const auto plain_words = lines_of(plain)[0], replaced_words = lines_of(replaced)[0];
  std::istringstream a(plain_words), b(replaced_words);
  for (std::string x, y; a >> x && b >> y;) {
    if (x == "<unk>") EXPECT_NE(input.find(y), std::string::npos) << y;
    else EXPECT_EQ(x, y);
  }
}

TEST(Cli, BadInputsGetClearErrors) {
  std::string output;
  EXPECT_EQ(run_command(nmt_command("translate --model /nonexistent/model"), &output), 1);
  EXPECT_NE(output.find("model directory not found: '/nonexistent/model'"), std::string::npos) << output;
  const std::string dir = nmt::test::scratch_dir("bad");
  nmt::test::write_file(dir + "/h.txt", "a\nb\n");
  nmt::test::write_file(dir + "/r.txt", "a\n");
  EXPECT_EQ(run_command(nmt_command("evaluate --hyp " + dir + "/h.txt --ref " + dir + "/r.txt"), &output), 1);
  EXPECT_NE(output.find("line counts differ"), std::string::npos) << output;
  nmt::test::write_file(dir + "/bad.txt", "ok\n\xff\n");
  EXPECT_EQ(run_command(nmt_command("evaluate --hyp " + dir + "/bad.txt --ref " + dir + "/h.txt"), &output), 1);
  EXPECT_NE(output.find("bad.txt:2: invalid UTF-8"), std::string::npos) << output;
  fs::create_directories(dir + "/empty-model");
  nmt::test::write_file(dir + "/empty-model/config.yaml", "model: {cell: gru}\n");
  EXPECT_EQ(run_command(nmt_command("translate --model " + dir + "/empty-model"), &output), 1);
  EXPECT_NE(output.find("has no vocabulary"), std::string::npos) << output;
}

TEST(Cli, EvaluateScoresLikeSacreBleu) {
  const std::string dir = nmt::test::scratch_dir("score");
  nmt::test::write_file(dir + "/h.txt", "the cat sat on a mat .\n");
  nmt::test::write_file(dir + "/r.txt", "The cat sat on the mat.\n");
  std::string output;
  ASSERT_EQ(run_command(nmt_command("evaluate --json --hyp " + dir + "/h.txt --ref " + dir + "/r.txt"), &output), 0);
  const auto report = nlohmann::json::parse(output);
  EXPECT_NEAR(report["bleu"].get<double>(), 32.1729, 1e-4);
  EXPECT_NEAR(report["chrf"].get<double>(), 62.1103, 1e-4);
  EXPECT_EQ(report["signature"].get<std::string>().rfind("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp", 0), 0u);
}
