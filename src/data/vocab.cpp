#include "data/vocab.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <stdexcept>

#include "runtime/files.hpp"

namespace nmt {
namespace {
const char* const kSpecials[] = {"<pad>", "<unk>", "<s>", "</s>"};
}

void Vocab::add(const std::string& token, int64_t count) {
  ids_.emplace(token, static_cast<int32_t>(tokens_.size()));
  tokens_.push_back(token);
  counts_.push_back(count);
}

Vocab Vocab::build(const std::unordered_map<std::string, int64_t>& counts, int64_t min_freq, int64_t max_size) {
  std::vector<std::pair<std::string, int64_t>> entries;
  for (const auto& [token, count] : counts) {
    const bool special = std::find(std::begin(kSpecials), std::end(kSpecials), token) != std::end(kSpecials);
    if (count >= min_freq && !special) entries.emplace_back(token, count);
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (max_size > 0 && static_cast<int64_t>(entries.size()) > max_size) entries.resize(static_cast<size_t>(max_size));
  Vocab vocab;
  for (const char* special : kSpecials) vocab.add(special, 0);
  for (const auto& [token, count] : entries) vocab.add(token, count);
  return vocab;
}

std::string Vocab::to_text() const {
  std::string text;
  for (size_t i = 0; i < tokens_.size(); ++i) text += tokens_[i] + "\t" + std::to_string(counts_[i]) + "\n";
  return text;
}

void Vocab::save(const std::string& path) const { write_text_atomically(path, to_text()); }

Vocab Vocab::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("vocabulary file not found: '" + path + "'");
  Vocab vocab;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    const auto tab = line.rfind('\t');
    if (tab == std::string::npos)
      throw std::runtime_error(path + ":" + std::to_string(number) + ": expected token<TAB>count");
    const std::string token = line.substr(0, tab);
    if (number <= 4 && token != kSpecials[number - 1])
      throw std::runtime_error(path + ":" + std::to_string(number) + ": expected special token '" +
                               kSpecials[number - 1] + "', found '" + token + "'");
    if (vocab.ids_.count(token))
      throw std::runtime_error(path + ":" + std::to_string(number) + ": duplicate token '" + token + "'");
    const std::string count_text = line.substr(tab + 1);
    int64_t count = 0;
    const auto [end, error] = std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
    if (error != std::errc() || end != count_text.data() + count_text.size() || count < 0)
      throw std::runtime_error(path + ":" + std::to_string(number) + ": count '" + count_text +
                               "' is not a non-negative integer");
    vocab.add(token, count);
  }
  if (vocab.size() < 4) throw std::runtime_error(path + ": vocabulary is missing its special tokens");
  return vocab;
}

}  // namespace nmt
