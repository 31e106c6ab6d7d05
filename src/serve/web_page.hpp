// The page GET / serves: a translation form on the server's own API, with no outside resources.
#pragma once
#include <string>

namespace nmt {

const std::string& web_page();

}  // namespace nmt
