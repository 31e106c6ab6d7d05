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
#include "config/config_fields.hpp"
#include "config/config_rules.hpp"

namespace nmt {
namespace {

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
  check_combinations(config);
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
