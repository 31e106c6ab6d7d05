#include "serve/translate_request.hpp"

#include "text/utf8.hpp"

namespace nmt {
namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(text.substr(start, end - start));
  lines.push_back(text.substr(start));
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (size_t i = 0; i < lines.size(); ++i) text += (i ? "\n" : "") + lines[i];
  return text;
}

size_t code_points(const std::string& text) {
  size_t count = 0;
  for (const unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

const nlohmann::json* field(const nlohmann::json& body, const char* name) {
  const auto found = body.find(name);
  return found == body.end() || found->is_null() ? nullptr : &*found;
}

std::string string_field(const nlohmann::json& body, const char* name, const std::string& fallback) {
  const auto* value = field(body, name);
  if (!value) return fallback;
  if (!value->is_string()) throw ApiError(400, std::string("'") + name + "' must be a string");
  return value->get<std::string>();
}

}  // namespace

nlohmann::json request_body(const std::string& body, const std::string& content_type,
                            const std::multimap<std::string, std::string>& form_fields) {
  if (find_invalid_utf8(body) != std::string::npos) throw ApiError(400, "the request body is not valid UTF-8");
  if (content_type.rfind("application/x-www-form-urlencoded", 0) == 0 || content_type.rfind("multipart/form-data", 0) == 0) {
    nlohmann::json fields = nlohmann::json::object();
    for (const auto& [name, value] : form_fields) {
      if (find_invalid_utf8(value) != std::string::npos) throw ApiError(400, "form field '" + name + "' is not valid UTF-8");
      if (name == "alternatives") {
        try {
          fields[name] = std::stoll(value);
        } catch (const std::exception&) {
          throw ApiError(400, "'alternatives' must be a whole number");
        }
      } else if (name == "q" && fields.contains("q")) {
        if (!fields["q"].is_array()) fields["q"] = nlohmann::json::array({fields["q"]});
        fields["q"].push_back(value);
      } else {
        fields[name] = value;
      }
    }
    return fields;
  }
  const auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded()) throw ApiError(400, "Invalid JSON format");
  if (!parsed.is_object()) throw ApiError(400, "the request must be a JSON object");
  return parsed;
}

TranslateRequest parse_translate_request(const nlohmann::json& body, const LanguagePair& languages,
                                         const ServeConfig& limits) {
  TranslateRequest request;
  const auto* q = field(body, "q");
  if (!q) throw ApiError(400, "Invalid request: missing q parameter");
  if (q->is_string()) {
    request.texts.push_back(q->get<std::string>());
  } else if (q->is_array()) {
    request.batch = true;
    for (const auto& text : *q) {
      if (!text.is_string()) throw ApiError(400, "'q' must be a string or an array of strings");
      request.texts.push_back(text.get<std::string>());
    }
  } else {
    throw ApiError(400, "'q' must be a string or an array of strings");
  }
  const std::string source = string_field(body, "source", "auto"), target = string_field(body, "target", languages.target);
  if (source != "auto" && source != languages.source)
    throw ApiError(400, source + " is not supported: this model translates " + languages.source + " to " + languages.target);
  if (target != languages.target)
    throw ApiError(400, target + " is not supported: this model translates " + languages.source + " to " + languages.target);
  const std::string format = string_field(body, "format", "text");
  if (format != "text") throw ApiError(400, "format '" + format + "' is not supported; use text");
  request.api_key = string_field(body, "api_key", "");
  if (const auto* alternatives = field(body, "alternatives")) {
    if (!alternatives->is_number_integer() || alternatives->get<int64_t>() < 0 || alternatives->get<int64_t>() > 16)
      throw ApiError(400, "'alternatives' must be a whole number from 0 to 16");
    request.alternatives = alternatives->get<int64_t>();
  }
  if (const auto* details = field(body, "details")) {
    if (!details->is_boolean()) throw ApiError(400, "'details' must be true or false");
    request.details = details->get<bool>();
  }
  size_t characters = 0;
  for (const auto& text : request.texts) characters += code_points(text);
  if (static_cast<int64_t>(characters) > limits.char_limit)
    throw ApiError(413, "Invalid request: request (" + std::to_string(characters) + ") exceeds text limit (" +
                            std::to_string(limits.char_limit) + ")");
  for (const auto& text : request.texts) {
    auto lines = split_lines(text);
    request.line_counts.push_back(lines.size());
    for (auto& line : lines) request.lines.push_back(std::move(line));
  }
  if (static_cast<int64_t>(request.lines.size()) > limits.sentence_limit)
    throw ApiError(413, "Invalid request: " + std::to_string(request.lines.size()) + " lines exceed the limit of " +
                            std::to_string(limits.sentence_limit));
  return request;
}

nlohmann::json translate_response(const TranslateRequest& request, const std::vector<Translation>& line_translations) {
  nlohmann::json translated = nlohmann::json::array(), alternatives = nlohmann::json::array(),
                 details = nlohmann::json::array();
  size_t next = 0;
  for (const size_t count : request.line_counts) {
    std::vector<std::vector<std::string>> candidates(static_cast<size_t>(request.alternatives) + 1);
    nlohmann::json text_details = nlohmann::json::array();
    for (size_t i = next; i < next + count; ++i) {
      const auto& translation = line_translations.at(i);
      for (size_t k = 0; k < candidates.size(); ++k) {
        // Fewer candidates than asked (a short beam): the best one stands in.
        const auto& candidate = k < translation.candidates.size() ? translation.candidates[k] : translation.candidates.front();
        candidates[k].push_back(candidate.text);
      }
      if (request.details) {
        nlohmann::json scores = nlohmann::json::array();
        for (const auto& candidate : translation.candidates) scores.push_back(candidate.score);
        const auto& best = translation.candidates.front();
        text_details.push_back({{"source_tokens", translation.src_tokens},
                                {"tokens", best.tokens},
                                {"scores", scores},
                                {"attention", best.attention}});
      }
    }
    next += count;
    translated.push_back(join_lines(candidates.front()));
    nlohmann::json text_alternatives = nlohmann::json::array();
    for (size_t k = 1; k < candidates.size(); ++k) text_alternatives.push_back(join_lines(candidates[k]));
    alternatives.push_back(text_alternatives);
    details.push_back(text_details);
  }
  nlohmann::json response = {{"translatedText", request.batch ? translated : translated.front()}};
  if (request.alternatives > 0) response["alternatives"] = request.batch ? alternatives : alternatives.front();
  if (request.details) response["details"] = request.batch ? details : details.front();
  return response;
}

}  // namespace nmt
