// The single list of every config key, with its type, range or choices: reading, overriding,
// validation and dumping all walk it.
#pragma once
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"

namespace nmt {

using FieldTarget = std::variant<int64_t*, double*, bool*, std::string*>;

struct Field {
  std::string path;
  FieldTarget target;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;
};

// Pointers into `c`, in the order of the dumped config.
std::vector<Field> fields_of(Config& c);

}  // namespace nmt
