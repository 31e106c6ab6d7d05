#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <future>
#include <thread>

#include "test_util.hpp"
#include "text/line_reader.hpp"
#include "text/tokenizer.hpp"
#include "text/utf8.hpp"

using namespace nmt;

namespace {
std::vector<std::string> words(std::initializer_list<const char*> list) { return {list.begin(), list.end()}; }
TokenizerConfig tokenizer(const std::string& type, bool lowercase) {
  TokenizerConfig config;
  config.type = type;
  config.lowercase = lowercase;
  return config;
}
}  // namespace

TEST(Tokenizer, WordSplitsPunctuationAndLowercasesUnicode) {
  auto word = make_tokenizer(tokenizer("word", true));
  EXPECT_EQ(word->tokenize("Männer,"), words({"männer", ","}));
  EXPECT_EQ(word->tokenize("ÜBER  die STRAẞE!"), words({"über", "die", "straße", "!"}));
  EXPECT_EQ(word->tokenize("Ein Mann, der 3,5 km läuft."), words({"ein", "mann", ",", "der", "3", ",", "5", "km", "läuft", "."}));
  EXPECT_EQ(word->tokenize("\"Hallo\"\u00a0Welt"), words({"\"", "hallo", "\"", "welt"}));
  auto cased = make_tokenizer(tokenizer("word", false));
  EXPECT_EQ(cased->tokenize("Ça va?"), words({"Ça", "va", "?"}));
}

TEST(Tokenizer, WhitespaceSplitsLikePython) {
  auto ws = make_tokenizer(tokenizer("whitespace", false));
  EXPECT_EQ(ws->tokenize("  a\tb\u00a0c\u3000d  "), words({"a", "b", "c", "d"}));
  EXPECT_TRUE(ws->tokenize("   ").empty());
  EXPECT_EQ(ws->detokenize(words({"a", "b"})), "a b");
}

TEST(Tokenizer, LowercaseIsFullUnicode) {
  EXPECT_EQ(lowercase_utf8("ÀÉÎ ÖSTERREICH"), "àéî österreich");
  EXPECT_EQ(lowercase_utf8("ABC def"), "abc def");
}

TEST(Utf8, FindsInvalidSequences) {
  EXPECT_EQ(find_invalid_utf8("gültig"), std::string::npos);
  EXPECT_EQ(find_invalid_utf8("ab\xff"), 2u);
  EXPECT_EQ(find_invalid_utf8("a\xc3"), 1u);          // truncated
  EXPECT_EQ(find_invalid_utf8("\xc0\xaf"), 0u);        // overlong
  EXPECT_EQ(find_invalid_utf8("\xed\xa0\x80"), 0u);    // surrogate
}

TEST(LineReader, ReportsFileAndLineOfInvalidUtf8) {
  const auto dir = test::scratch_dir("x");
  test::write_file(dir + "/bad.txt", "fine\nalso fine\nbroken \xff here\n");
  LineReader reader(dir + "/bad.txt");
  std::string line;
  EXPECT_TRUE(reader.next(line));
  EXPECT_TRUE(reader.next(line));
  try {
    reader.next(line);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.txt:3: invalid UTF-8"), std::string::npos) << e.what();
  }
}

TEST(LineReader, ReadsGzipAndStripsCarriageReturns) {
  LineReader reader(test::source_path("data/toy.valid.src.gz"));
  std::string line;
  size_t count = 0;
  while (reader.next(line)) {
    ++count;
    EXPECT_FALSE(line.empty());
    EXPECT_EQ(line.find('\n'), std::string::npos);
  }
  EXPECT_EQ(count, 500u);
  const auto dir = test::scratch_dir("x");
  test::write_file(dir + "/crlf.txt", "a b\r\nc\r\n");
  LineReader crlf(dir + "/crlf.txt");
  ASSERT_TRUE(crlf.next(line));
  EXPECT_EQ(line, "a b");
}

TEST(LineReader, ReturnsEachLineOfAPipeAsItArrives) {
  const auto path = test::scratch_dir("fifo") + "/in";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  std::promise<void> first_line_read;
  bool read_before_more_input = false;
  std::thread writer([&] {
    const int fd = ::open(path.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "first\n", 6), 6);
    // A reader that waits for a full buffer or the end of input would time out here.
    read_before_more_input = first_line_read.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready;
    ASSERT_EQ(::write(fd, "second\n", 7), 7);
    ::close(fd);
  });
  LineReader reader(path);
  std::string line;
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line, "first");
  EXPECT_FALSE(reader.ready());  // nothing more has arrived yet
  first_line_read.set_value();
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line, "second");
  EXPECT_FALSE(reader.next(line));
  writer.join();
  EXPECT_TRUE(read_before_more_input);
}

TEST(LineReader, ReadsConcatenatedGzipMembersAndRejectsTruncatedGzip) {
  const auto dir = test::scratch_dir("gz");
  const std::string path = dir + "/two.gz";
  for (const char* text : {"one\ntwo\n", "three\n"}) {  // "ab" appends a second gzip member
    gzFile file = gzopen(path.c_str(), "ab");
    gzputs(file, text);
    gzclose(file);
  }
  std::vector<std::string> lines;
  LineReader reader(path);
  for (std::string line; reader.next(line);) lines.push_back(line);
  EXPECT_EQ(lines, words({"one", "two", "three"}));

  std::string big;
  for (int i = 0; i < 20000; ++i) big += "line " + std::to_string(i) + "\n";
  gzFile file = gzopen((dir + "/big.gz").c_str(), "wb");
  gzwrite(file, big.data(), static_cast<unsigned>(big.size()));
  gzclose(file);
  std::filesystem::resize_file(dir + "/big.gz", std::filesystem::file_size(dir + "/big.gz") / 2);
  LineReader truncated(dir + "/big.gz");
  try {
    for (std::string line; truncated.next(line);) {
    }
    FAIL() << "expected an error for a truncated gzip file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("big.gz:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

TEST(Tokenizer, TokenizedLineIsRefilledInPlace) {
  auto word = make_tokenizer(tokenizer("word", true));
  TokenizedLine tokens;
  word->tokenize_into("Ein sehr langer Satz, mit Komma.", tokens);
  EXPECT_EQ(tokens.size(), 8u);
  word->tokenize_into("Kurz!", tokens);
  EXPECT_EQ(tokens.strings(), words({"kurz", "!"}));
  word->tokenize_into("", tokens);
  EXPECT_TRUE(tokens.empty());
  // A lowercase mapping that changes the byte length (U+023A -> U+2C65) leaves the fast path.
  EXPECT_EQ(lowercase_utf8("A\u023a\u00c4"), "a\u2c65\u00e4");
}

TEST(Tokenizer, SentencePieceRoundTrip) {
  const auto dir = test::scratch_dir("spm");
  std::string text;
  LineReader reader(test::source_path("data/toy.train.src.gz"));
  for (std::string line; reader.next(line) && reader.line_number() < 3000;) text += line + "\n";
  test::write_file(dir + "/train.txt", text);
  TokenizerConfig config = tokenizer("sentencepiece", false);
  config.vocab_size = 200;
  train_sentencepiece(dir + "/train.txt", dir + "/m", config);
  auto spm = make_tokenizer(config, dir + "/m.model");
  const std::string sentence = "fifty eight ginbemen ninsou tispi forty five";
  const auto pieces = spm->tokenize(sentence);
  EXPECT_GT(pieces.size(), 7u);  // subwords, not whole words
  EXPECT_EQ(spm->detokenize(pieces), sentence);
}
