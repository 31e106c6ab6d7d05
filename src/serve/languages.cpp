#include "serve/languages.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <stdexcept>

namespace nmt {
namespace {

bool looks_like_code(const std::string& text) {
  static const char* const not_codes[] = {"src", "tgt", "txt", "tok", "raw", "bin", "tsv"};
  return (text.size() == 2 || text.size() == 3) &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= 'a' && c <= 'z'; }) &&
         std::none_of(std::begin(not_codes), std::end(not_codes), [&](const char* word) { return text == word; });
}

std::string code_of(const std::string& given, const std::string& file, const std::string& key) {
  if (!given.empty()) return given;
  std::filesystem::path path(file);
  if (path.extension() == ".gz") path = path.stem();
  const std::string extension = path.extension().string();
  if (extension.size() > 1 && looks_like_code(extension.substr(1))) return extension.substr(1);
  throw std::runtime_error("the model's " + std::string(key == "data.src_lang" ? "source" : "target") +
                           " language is unknown: its config has no " + key + " and the training file '" + file +
                           "' ends in no language code; set " + key + " (e.g. --set " + key + "=de)");
}

}  // namespace

LanguagePair model_languages(const DataConfig& data) {
  return {code_of(data.src_lang, data.train.src, "data.src_lang"), code_of(data.tgt_lang, data.train.tgt, "data.tgt_lang")};
}

std::string language_name(const std::string& code) {
  static const std::map<std::string, std::string> names = {
      {"ar", "Arabic"},  {"cs", "Czech"},     {"de", "German"},     {"en", "English"}, {"es", "Spanish"},
      {"fi", "Finnish"}, {"fr", "French"},    {"hi", "Hindi"},      {"it", "Italian"}, {"ja", "Japanese"},
      {"ko", "Korean"},  {"nl", "Dutch"},     {"pl", "Polish"},     {"pt", "Portuguese"}, {"ro", "Romanian"},
      {"ru", "Russian"}, {"sv", "Swedish"},   {"tr", "Turkish"},    {"uk", "Ukrainian"}, {"zh", "Chinese"}};
  const auto found = names.find(code);
  return found == names.end() ? code : found->second;
}

}  // namespace nmt
