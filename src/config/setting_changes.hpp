// The lines that differ between two dumps of a resolved config, each with its section: what a
// resume changed, or how a rank's setup differs from rank 0's.
#pragma once
#include <string>
#include <vector>

namespace nmt {

struct SettingChange {
  std::string section, before, after;  // section header, and the line in each dump
};

// Compares line by line; a dump that ends early is one change to or from "(end)".
std::vector<SettingChange> changed_settings(const std::string& before, const std::string& after);

}  // namespace nmt
