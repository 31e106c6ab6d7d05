#include "config/setting_changes.hpp"

#include <algorithm>
#include <sstream>

namespace nmt {
namespace {

std::string trimmed(const std::string& line) { return line.substr(std::min(line.size(), line.find_first_not_of(' '))); }

}  // namespace

std::vector<SettingChange> changed_settings(const std::string& before, const std::string& after) {
  std::istringstream old_lines(before), new_lines(after);
  std::string section, old_line, new_line;
  std::vector<SettingChange> changes;
  while (true) {
    const bool more_old = static_cast<bool>(std::getline(old_lines, old_line));
    const bool more_new = static_cast<bool>(std::getline(new_lines, new_line));
    if (!more_old && !more_new) break;
    if (!more_old || !more_new) {
      changes.push_back({"", more_old ? trimmed(old_line) : "(end)", more_new ? trimmed(new_line) : "(end)"});
      break;
    }
    if (!old_line.empty() && old_line[0] != ' ') section = old_line;
    if (old_line != new_line) changes.push_back({section, trimmed(old_line), trimmed(new_line)});
  }
  return changes;
}

}  // namespace nmt
