// LibreTranslate's POST /translate: the request as JSON (or form fields), checked, and the
// response built from the translations of its lines.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "search/translator.hpp"
#include "serve/languages.hpp"

namespace nmt {

// An answer other than 200: its status and the message of its {"error": ...} body.
struct ApiError : std::runtime_error {
  ApiError(int status_code, const std::string& message) : std::runtime_error(message), status(status_code) {}
  int status;
};

struct TranslateRequest {
  std::vector<std::string> texts;  // q, one entry per text
  bool batch = false;              // q was an array: so is translatedText
  int64_t alternatives = 0;        // more candidates per text, from beam search
  bool details = false;            // nmt's addition: scores, tokens and attention per line
  std::string api_key;
  std::vector<std::string> lines;  // every line of every text, in order: what the model translates
  std::vector<size_t> line_counts;  // lines per text
};

// Throws ApiError 400 for malformed JSON, wrong types, invalid UTF-8, another language pair or a
// format other than text, and 413 past serve.char_limit or serve.sentence_limit.
TranslateRequest parse_translate_request(const nlohmann::json& body, const LanguagePair& languages,
                                         const ServeConfig& limits);
// The JSON body of a request, or its form fields as one; throws ApiError 400.
nlohmann::json request_body(const std::string& body, const std::string& content_type,
                            const std::multimap<std::string, std::string>& form_fields);
// `line_translations` holds one Translation per line of request.lines.
nlohmann::json translate_response(const TranslateRequest& request, const std::vector<Translation>& line_translations);

}  // namespace nmt
