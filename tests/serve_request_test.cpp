// LibreTranslate requests: what is accepted, what is refused with which status, and the
// response's shape for strings, arrays, multi-line text and alternatives.
#include <gtest/gtest.h>

#include "serve/languages.hpp"
#include "serve/translate_request.hpp"

using namespace nmt;

namespace {

const LanguagePair kPair{"de", "en"};

int status_of(const std::string& body, const ServeConfig& limits = {}) {
  try {
    parse_translate_request(request_body(body, "application/json", {}), kPair, limits);
  } catch (const ApiError& e) {
    return e.status;
  }
  return 200;
}

Translation translation_of(const std::vector<std::string>& candidates) {
  Translation translation;
  for (const auto& text : candidates) translation.candidates.push_back({text, {text}, -1.5, {}});
  return translation;
}

}  // namespace

TEST(TranslateRequest, AcceptsLibreTranslateRequests) {
  auto request = parse_translate_request(
      request_body(R"({"q": "Hallo Welt", "source": "de", "target": "en", "format": "text"})", "application/json", {}),
      kPair, {});
  EXPECT_EQ(request.texts, (std::vector<std::string>{"Hallo Welt"}));
  EXPECT_FALSE(request.batch);
  request = parse_translate_request(
      request_body(R"({"q": ["a\n\nb", "c"], "source": "auto", "target": "en", "alternatives": 2, "api_key": "k"})",
                   "application/json; charset=utf-8", {}),
      kPair, {});
  EXPECT_TRUE(request.batch);
  EXPECT_EQ(request.alternatives, 2);
  EXPECT_EQ(request.api_key, "k");
  EXPECT_EQ(request.lines, (std::vector<std::string>{"a", "", "b", "c"}));
  // Form fields, as LibreTranslate's own page and curl -d send them.
  request = parse_translate_request(
      request_body("", "application/x-www-form-urlencoded", {{"q", "Hallo"}, {"source", "de"}, {"target", "en"}}), kPair, {});
  EXPECT_EQ(request.texts, (std::vector<std::string>{"Hallo"}));
}

TEST(TranslateRequest, RefusesBadRequestsWithTheirStatus) {
  EXPECT_EQ(status_of(R"({"q": "x", "source": "de", "target": "en"})"), 200);
  EXPECT_EQ(status_of(R"({"q": "x")"), 400);                    // malformed JSON
  EXPECT_EQ(status_of(R"(["x"])"), 400);                        // not an object
  EXPECT_EQ(status_of(R"({"source": "de"})"), 400);             // no q
  EXPECT_EQ(status_of(R"({"q": 3})"), 400);                     // wrong type
  EXPECT_EQ(status_of(R"({"q": ["a", 3]})"), 400);
  EXPECT_EQ(status_of(R"({"q": "x", "source": 1})"), 400);
  EXPECT_EQ(status_of(R"({"q": "x", "source": "fr"})"), 400);   // another language pair
  EXPECT_EQ(status_of(R"({"q": "x", "target": "de"})"), 400);
  EXPECT_EQ(status_of(R"({"q": "x", "format": "html"})"), 400);
  EXPECT_EQ(status_of(R"({"q": "x", "alternatives": -1})"), 400);
  EXPECT_EQ(status_of(R"({"q": "x", "alternatives": "2"})"), 400);
  EXPECT_EQ(status_of("{\"q\": \"\xff\"}"), 400);               // invalid UTF-8
  ServeConfig limits;
  limits.char_limit = 5;
  limits.sentence_limit = 2;
  EXPECT_EQ(status_of(R"({"q": "äöüßé"})", limits), 200);       // characters, not bytes
  EXPECT_EQ(status_of(R"({"q": "abcdef"})", limits), 413);
  EXPECT_EQ(status_of(R"({"q": ["ab", "cd"]})", limits), 200);
  EXPECT_EQ(status_of(R"({"q": "a\nb\nc"})", limits), 413);
}

TEST(TranslateRequest, ResponsesKeepTheShapeAndLineCountOfQ) {
  auto request = parse_translate_request(request_body(R"({"q": "a\n\nb", "alternatives": 1})", "application/json", {}), kPair, {});
  auto response = translate_response(request, {translation_of({"A", "A2"}), translation_of({""}), translation_of({"B", "B2"})});
  EXPECT_EQ(response["translatedText"], "A\n\nB");
  // A line with fewer candidates than asked gives its best one in their place.
  EXPECT_EQ(response["alternatives"], nlohmann::json::array({"A2\n\nB2"}));
  request = parse_translate_request(request_body(R"({"q": ["a", "b"], "details": true})", "application/json", {}), kPair, {});
  response = translate_response(request, {translation_of({"A"}), translation_of({"B"})});
  EXPECT_EQ(response["translatedText"], nlohmann::json::array({"A", "B"}));
  EXPECT_FALSE(response.contains("alternatives"));
  EXPECT_EQ(response["details"][1][0]["scores"], nlohmann::json::array({-1.5}));
}

TEST(TranslateRequest, LanguagesComeFromTheConfigOrTheTrainingFileNames) {
  DataConfig data;
  data.train.src = "downloads/multi30k/tok/train.lc.norm.tok.de.gz";
  data.train.tgt = "downloads/multi30k/tok/train.lc.norm.tok.en.gz";
  EXPECT_EQ(model_languages(data).source, "de");
  EXPECT_EQ(model_languages(data).target, "en");
  data.tgt_lang = "fr";
  EXPECT_EQ(model_languages(data).target, "fr");
  data.train.src = "data/toy.train.src.gz";
  try {
    model_languages(data);
    FAIL() << "no language in 'src'";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("set data.src_lang"), std::string::npos) << e.what();
  }
  EXPECT_EQ(language_name("de"), "German");
  EXPECT_EQ(language_name("svo"), "svo");
}
