#include "config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <variant>

#include "config/config_error.hpp"

namespace nmt {
namespace {

using FieldTarget = std::variant<int64_t*, double*, bool*, std::string*>;

struct Field {
  std::string path;
  FieldTarget target;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;
};

// The single list of every config key: reading, overriding, validation and dumping all use it.
std::vector<Field> fields_of(Config& c) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  auto& d = c.data;
  auto& m = c.model;
  auto& t = c.training;
  auto& g = c.decoding;
  auto& v = c.serve;
  auto& p = c.distributed;
  return {
      {"task", &c.task, 0, 0, {"nmt", "lm"}},
      {"data.train.src", &d.train.src},
      {"data.train.tgt", &d.train.tgt},
      {"data.valid.src", &d.valid.src},
      {"data.valid.tgt", &d.valid.tgt},
      {"data.test.src", &d.test.src},
      {"data.test.tgt", &d.test.tgt},
      {"data.train.text", &d.train.text},
      {"data.valid.text", &d.valid.text},
      {"data.test.text", &d.test.text},
      {"data.dir", &d.dir},
      {"data.tokenizer.type", &d.tokenizer.type, 0, 0, {"whitespace", "word", "char", "sentencepiece"}},
      {"data.tokenizer.lowercase", &d.tokenizer.lowercase},
      {"data.tokenizer.vocab_size", &d.tokenizer.vocab_size, 8, 1e7},
      {"data.tokenizer.model_type", &d.tokenizer.model_type, 0, 0, {"bpe", "unigram"}},
      {"data.vocab.min_freq", &d.vocab.min_freq, 1, inf},
      {"data.vocab.max_size", &d.vocab.max_size, 0, inf},
      {"data.vocab.shared", &d.vocab.shared},
      {"data.max_len", &d.max_len, 3, 1e6},
      {"data.drop_long", &d.drop_long},
      {"data.src_lang", &d.src_lang},
      {"data.tgt_lang", &d.tgt_lang},
      {"model.cell", &m.cell, 0, 0, {"rnn", "gru", "lstm"}},
      {"model.emb_size", &m.emb_size, 1, 1e6},
      {"model.enc_hidden", &m.enc_hidden, 1, 1e6},
      {"model.enc_layers", &m.enc_layers, 1, 64},
      {"model.bidirectional", &m.bidirectional},
      {"model.dec_hidden", &m.dec_hidden, 1, 1e6},
      {"model.dec_layers", &m.dec_layers, 1, 64},
      {"model.bridge", &m.bridge, 0, 0, {"none", "tanh", "copy"}},
      {"model.attention", &m.attention, 0, 0, {"none", "dot", "general", "mlp"}},
      {"model.input_feeding", &m.input_feeding},
      {"model.tie_embeddings", &m.tie_embeddings},
      {"model.tie_all_embeddings", &m.tie_all_embeddings},
      {"model.dropout", &m.dropout, 0, 0.99},
      {"training.dir", &t.dir},
      {"training.device", &t.device, 0, 0, {"auto", "cpu", "cuda"}},
      {"training.batch_size", &t.batch_size, 1, 1e6},
      {"training.batch_tokens", &t.batch_tokens, 0, 1e9},
      {"training.max_steps", &t.max_steps, 0, 1e12},
      {"training.max_epochs", &t.max_epochs, 0, 1e9},
      {"training.max_minutes", &t.max_minutes, 0, 1e9},
      {"training.seed", &t.seed, 0, 1e18},
      {"training.optimizer", &t.optimizer, 0, 0, {"adam", "adamw", "sgd"}},
      {"training.lr", &t.lr, 0, 100},
      {"training.beta1", &t.beta1, 0, 1},
      {"training.beta2", &t.beta2, 0, 1},
      {"training.weight_decay", &t.weight_decay, 0, 10},
      {"training.momentum", &t.momentum, 0, 1},
      {"training.clip_norm", &t.clip_norm, 0, inf},
      {"training.ema_decay", &t.ema_decay, 0, 0.999999},
      {"training.label_smoothing", &t.label_smoothing, 0, 0.99},
      {"training.teacher_forcing", &t.teacher_forcing, 0, 1},
      {"training.teacher_forcing_decay_steps", &t.teacher_forcing_decay_steps, 0, 1e12},
      {"training.teacher_forcing_min", &t.teacher_forcing_min, 0, 1},
      {"training.lr_schedule", &t.lr_schedule, 0, 0, {"constant", "plateau", "inverse_sqrt", "cosine"}},
      {"training.lr_decay", &t.lr_decay, 0, 1},
      {"training.lr_patience", &t.lr_patience, 0, 1e9},
      {"training.warmup_steps", &t.warmup_steps, 0, 1e12},
      {"training.min_lr", &t.min_lr, 0, 100},
      {"training.anneal_from", &t.anneal_from, 0, 0.99},
      {"training.valid_every", &t.valid_every, 1, 1e12},
      {"training.log_every", &t.log_every, 1, 1e12},
      {"training.valid_bleu", &t.valid_bleu, 0, 1},
      {"training.early_stopping_metric", &t.early_stopping_metric, 0, 0, {"loss", "ppl", "bleu", "chrf"}},
      {"training.patience", &t.patience, 0, 1e9},
      {"training.keep_last", &t.keep_last, 1, 1e6},
      {"training.keep_best", &t.keep_best, 0, 1e6},
      {"training.lm_mode", &t.lm_mode, 0, 0, {"stream", "sentence"}},
      {"training.bptt", &t.bptt, 2, 1e6},
      {"training.bptt_jitter", &t.bptt_jitter, 0, 1e6},
      {"training.init_from", &t.init_from},
      {"training.init_checkpoint", &t.init_checkpoint},
      {"training.accumulate", &t.accumulate, 1, 1024},
      {"decoding.batch_size", &g.batch_size, 1, 1e6},
      {"decoding.beam_size", &g.beam_size, 1, 1000},
      {"decoding.length_penalty", &g.length_penalty, 0, 10},
      {"decoding.max_len_a", &g.max_len_a, 0, 100},
      {"decoding.max_len_b", &g.max_len_b, 0, 1e6},
      {"serve.host", &v.host},
      {"serve.port", &v.port, 0, 65535},
      {"serve.threads", &v.threads, 1, 1024},
      {"serve.max_batch", &v.max_batch, 1, 1e5},
      {"serve.max_wait_ms", &v.max_wait_ms, 0, 1e4},
      {"serve.queue_limit", &v.queue_limit, 1, 1e6},
      {"serve.timeout_seconds", &v.timeout_seconds, 0.001, 1e5},
      {"serve.char_limit", &v.char_limit, 1, 1e9},
      {"serve.sentence_limit", &v.sentence_limit, 1, 1e6},
      {"serve.api_keys_file", &v.api_keys_file},
      {"serve.cors_origin", &v.cors_origin},
      {"distributed.backend", &p.backend, 0, 0, {"auto", "gloo", "nccl"}},
      {"distributed.timeout_seconds", &p.timeout_seconds, 1, 1e6},
      {"distributed.rendezvous_timeout_seconds", &p.rendezvous_timeout_seconds, 1, 1e6},
      {"distributed.checkpoint_timeout_seconds", &p.checkpoint_timeout_seconds, 1, 1e7},
      {"distributed.interface", &p.interface},
      {"distributed.bucket_mb", &p.bucket_mb, 0.01, 1e5},
  };
}

std::string where(const std::string& source, const YAML::Mark& mark) {
  if (mark.line < 0) return source;
  return source + ":" + std::to_string(mark.line + 1);
}

[[noreturn]] void fail(const std::string& source, const YAML::Node& node, const std::string& key,
                       const std::string& what) {
  throw ConfigError(where(source, node.Mark()) + ": key '" + key + "': " + what);
}

void read_field(const Field& field, const YAML::Node& node, const std::string& source) {
  if (!node.IsScalar()) fail(source, node, field.path, "expected a single value, not a list or mapping");
  const std::string text = node.Scalar();
  std::visit(
      [&](auto* target) {
        using T = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<T, std::string>) {
          *target = text;
        } else {
          T value{};
          try {
            value = node.as<T>();
          } catch (const YAML::Exception&) {
            const char* type = std::is_same_v<T, bool> ? "a boolean (true/false)"
                               : std::is_same_v<T, int64_t> ? "an integer"
                                                            : "a number";
            fail(source, node, field.path, "expected " + std::string(type) + ", got '" + text + "'");
          }
          if constexpr (!std::is_same_v<T, bool>) {
            if (!(static_cast<double>(value) >= field.min && static_cast<double>(value) <= field.max)) {
              std::ostringstream range;
              range << "value " << text << " is out of range [" << field.min << ", " << field.max << "]";
              fail(source, node, field.path, range.str());
            }
          }
          *target = value;
        }
      },
      field.target);
  if (!field.choices.empty()) {
    const auto& value = *std::get<std::string*>(field.target);
    bool known = false;
    std::string list;
    for (const auto& choice : field.choices) {
      known |= choice == value;
      list += (list.empty() ? "" : " | ") + choice;
    }
    if (!known) fail(source, node, field.path, "'" + value + "' is not one of " + list);
  }
}

// Every leaf key in the document must be a known field.
void check_unknown_keys(const YAML::Node& node, const std::string& prefix, const std::set<std::string>& known,
                        const std::set<std::string>& sections, const std::string& source) {
  if (!node.IsMap()) {
    if (!prefix.empty() && !known.count(prefix))
      fail(source, node, prefix, sections.count(prefix) ? "expected a mapping" : "unknown key");
    return;
  }
  if (!prefix.empty() && known.count(prefix)) fail(source, node, prefix, "expected a single value, not a mapping");
  for (const auto& entry : node) {
    const std::string key = prefix.empty() ? entry.first.Scalar() : prefix + "." + entry.first.Scalar();
    if (!known.count(key) && !sections.count(key)) fail(source, entry.first, key, "unknown key");
    check_unknown_keys(entry.second, key, known, sections, source);
  }
}

// yaml-cpp keeps both entries of a key given twice and lookups see only the first: refuse it.
void check_duplicate_keys(const YAML::Node& node, const std::string& prefix, const std::string& source) {
  if (node.IsSequence())
    for (const auto& item : node) check_duplicate_keys(item, prefix, source);
  if (!node.IsMap()) return;
  std::map<std::string, YAML::Mark> seen;
  for (const auto& entry : node) {
    const std::string name = entry.first.IsScalar() ? entry.first.Scalar() : "?";
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    const auto [first, inserted] = seen.emplace(name, entry.first.Mark());
    if (!inserted)
      fail(source, entry.first, key, "given twice (first at line " + std::to_string(first->second.line + 1) + ")");
    check_duplicate_keys(entry.second, key, source);
  }
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream stream(path);
  for (std::string part; std::getline(stream, part, '.');) parts.push_back(part);
  return parts;
}

YAML::Node lookup(const YAML::Node& root, const std::string& path) {
  YAML::Node node;
  node.reset(root);  // reset() rebinds; operator= would overwrite the document (and lose line marks)
  for (const auto& part : split_path(path)) {
    if (!node.IsMap() || !node[part]) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node child = node[part];
    node.reset(child);
  }
  return node;
}

void apply_override(YAML::Node& root, const std::string& assignment, const std::set<std::string>& known,
                    const std::string& source) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--set '" + assignment + "': expected key.path=value");
  const std::string key = assignment.substr(0, eq);
  if (!known.count(key)) throw ConfigError("--set '" + assignment + "': unknown key '" + key + "'");
  // Walk with non-const operator[] so missing sections are created in place.
  std::vector<YAML::Node> chain{root};
  const auto parts = split_path(key);
  std::string section;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    section += (i ? "." : "") + parts[i];
    YAML::Node next = chain.back()[parts[i]];
    if (next.IsDefined() && !next.IsNull() && !next.IsMap())
      fail(source, next, section, "expected a mapping, so --set '" + assignment + "' cannot apply");
    if (!next.IsDefined() || next.IsNull()) {
      chain.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
      next = chain.back()[parts[i]];
    }
    chain.push_back(next);
  }
  chain.back()[parts.back()] = assignment.substr(eq + 1);
}

void validate_combinations(const Config& c) {
  const auto& m = c.model;
  const int64_t enc_out = m.enc_hidden * (m.bidirectional ? 2 : 1);
  if (m.attention == "dot" && enc_out != m.dec_hidden)
    throw ConfigError(c.source_path + ": key 'model.attention': dot attention needs dec_hidden (" +
                      std::to_string(m.dec_hidden) + ") equal to the encoder output size (" +
                      std::to_string(enc_out) + ")");
  if (m.bridge == "copy" && enc_out != m.dec_hidden)
    throw ConfigError(c.source_path + ": key 'model.bridge': copy needs dec_hidden (" +
                      std::to_string(m.dec_hidden) + ") equal to the encoder output size (" +
                      std::to_string(enc_out) + ")");
  if (m.tie_embeddings && m.attention == "none" && m.emb_size != m.dec_hidden)
    throw ConfigError(c.source_path + ": key 'model.tie_embeddings': without attention it needs emb_size (" +
                      std::to_string(m.emb_size) + ") equal to dec_hidden (" + std::to_string(m.dec_hidden) + ")");
  if (c.training.lr_schedule == "cosine" && c.training.max_minutes <= 0 &&
      c.training.max_steps <= c.training.warmup_steps)
    throw ConfigError(c.source_path + ": key 'training.lr_schedule': cosine decays over training.max_steps "
                      "(which must then be larger than training.warmup_steps) or training.max_minutes; set one");
  if (c.training.anneal_from > 0 && c.training.lr_schedule != "cosine")
    throw ConfigError(c.source_path + ": key 'training.anneal_from': only the cosine schedule anneals; lr_schedule is '" +
                      c.training.lr_schedule + "'");
  if (m.tie_all_embeddings && (!m.tie_embeddings || !c.data.vocab.shared || c.task != "nmt"))
    throw ConfigError(c.source_path + ": key 'model.tie_all_embeddings': ties the source embeddings to the tied "
                      "target ones, so it needs task nmt, model.tie_embeddings: true and data.vocab.shared: true");
  const auto& t = c.training;
  if (t.batch_tokens > 0 && t.batch_tokens <= c.data.max_len)
    throw ConfigError(c.source_path + ": key 'training.batch_tokens': " + std::to_string(t.batch_tokens) +
                      " tokens cannot hold one sentence of data.max_len (" + std::to_string(c.data.max_len) +
                      ") tokens and its end marker; use at least " + std::to_string(c.data.max_len + 1) +
                      ", or 0 to batch by training.batch_size sentences");
  if (t.min_lr > t.lr && (t.lr_schedule == "plateau" || t.lr_schedule == "cosine"))
    throw ConfigError(c.source_path + ": key 'training.min_lr': the " + t.lr_schedule + " schedule decays from lr (" +
                      std::to_string(t.lr) + ") towards min_lr (" + std::to_string(t.min_lr) + "), which is above it");
  if (!t.init_checkpoint.empty() && t.init_from.empty())
    throw ConfigError(c.source_path + ": key 'training.init_checkpoint': names a checkpoint of training.init_from, "
                      "which is not set");
  if (!t.init_from.empty() && t.init_from == t.dir)
    throw ConfigError(c.source_path + ": key 'training.init_from': '" + t.init_from +
                      "' is training.dir itself; fine-tuning writes a new directory (use --resume to continue a run)");
  if (m.input_feeding && m.attention == "none")
    throw ConfigError(c.source_path + ": key 'model.input_feeding': needs an attention type other than none");
  if (c.task == "lm" && t.lm_mode == "stream" && t.accumulate > 1)
    throw ConfigError(c.source_path + ": key 'training.accumulate': a stream language model carries its hidden state "
                      "across windows, so its batch is one piece; use lm_mode sentence or accumulate 1");
  if (c.task == "lm") {
    if (m.attention != "none")
      throw ConfigError(c.source_path + ": key 'model.attention': a language model (task: lm) has no attention; use none");
    const auto& metric = c.training.early_stopping_metric;
    if (metric == "bleu" || metric == "chrf")
      throw ConfigError(c.source_path + ": key 'training.early_stopping_metric': '" + metric +
                        "' needs translations; a language model (task: lm) stops on loss or ppl");
  }
}

}  // namespace

Config parse_config(const std::string& yaml_text, const std::string& source_name,
                    const std::vector<std::string>& overrides) {
  Config config;
  config.source_path = source_name;
  auto fields = fields_of(config);
  std::set<std::string> known, sections;
  for (const auto& field : fields) {
    known.insert(field.path);
    auto parts = split_path(field.path);
    std::string prefix;
    for (size_t i = 0; i + 1 < parts.size(); ++i) sections.insert(prefix += (i ? "." : "") + parts[i]);
  }
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(where(source_name, e.mark) + ": invalid YAML: " + e.msg);
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw ConfigError(source_name + ": the config must be a YAML mapping of sections");
  check_duplicate_keys(root, "", source_name);
  for (const auto& assignment : overrides) apply_override(root, assignment, known, source_name);
  check_unknown_keys(root, "", known, sections, source_name);
  for (const auto& field : fields) {
    const YAML::Node node = lookup(root, field.path);
    if (node.IsDefined() && !node.IsNull()) read_field(field, node, source_name);
  }
  // A language model is the decoder alone: attention defaults to none there.
  if (config.task == "lm" && !lookup(root, "model.attention").IsDefined()) config.model.attention = "none";
  validate_combinations(config);
  return config;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path, overrides);
}

namespace {
// Shortest decimal text that reads back as the same double (0.2, not 0.20000000000000001).
std::string shortest_repr(double value) {
  for (int precision = 6; precision < 17; ++precision) {
    std::ostringstream text;
    text.precision(precision);
    text << value;
    if (std::stod(text.str()) == value) return text.str();
  }
  std::ostringstream text;
  text.precision(17);
  text << value;
  return text.str();
}

std::string emit(const Config& config, const std::string& only_section) {
  Config copy = config;
  YAML::Node root(YAML::NodeType::Map);
  for (const auto& field : fields_of(copy)) {
    auto parts = split_path(field.path);
    if (!only_section.empty() && parts.front() != only_section) continue;
    std::vector<YAML::Node> chain{root};
    for (size_t i = 0; i + 1 < parts.size(); ++i) chain.push_back(chain.back()[parts[i]]);
    std::visit(
        [&](auto* target) {
          if constexpr (std::is_same_v<std::remove_pointer_t<decltype(target)>, double>)
            chain.back()[parts.back()] = shortest_repr(*target);
          else
            chain.back()[parts.back()] = *target;
        },
        field.target);
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

std::string value_text(const Field& field) {
  return std::visit(
      [](auto* target) -> std::string {
        using T = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<T, std::string>) return *target;
        else if constexpr (std::is_same_v<T, bool>) return *target ? "true" : "false";
        else if constexpr (std::is_same_v<T, double>) return shortest_repr(*target);
        else return std::to_string(*target);
      },
      field.target);
}
}  // namespace

std::vector<std::string> differing_settings(const Config& a, const Config& b, const std::string& section) {
  Config copy_a = a, copy_b = b;
  const auto fields_a = fields_of(copy_a), fields_b = fields_of(copy_b);
  std::vector<std::string> lines;
  for (size_t i = 0; i < fields_a.size(); ++i) {
    if (split_path(fields_a[i].path).front() != section) continue;
    const std::string x = value_text(fields_a[i]), y = value_text(fields_b[i]);
    if (x != y) lines.push_back(fields_a[i].path + ": '" + x + "' vs '" + y + "'");
  }
  return lines;
}

std::string dump_config(const Config& config) { return emit(config, ""); }
std::string dump_section(const Config& config, const std::string& section) { return emit(config, section); }

std::string section_with_defaults(const std::string& section_yaml, const std::string& section) {
  Config config;
  const YAML::Node root = YAML::Load(section_yaml);
  for (const auto& field : fields_of(config)) {
    if (split_path(field.path).front() != section) continue;
    const YAML::Node node = lookup(root, field.path);
    if (node.IsDefined() && !node.IsNull()) read_field(field, node, "dumped section");
  }
  return emit(config, section);
}

}  // namespace nmt
