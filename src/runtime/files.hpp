// Filesystem helpers that never leave half-written files behind.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace nmt {

// Calls write(tmp_path), fsyncs, then renames tmp_path over path. On any failure the
// temporary file is removed, `path` keeps its previous content, and the error names `path`.
void write_file_atomically(const std::string& path, const std::function<void(const std::string&)>& write);
void write_text_atomically(const std::string& path, const std::string& text);
std::string read_text_file(const std::string& path);
// 64-bit FNV-1a, as 16 hex digits: fingerprints of configs and vocabularies.
std::string fnv1a_hex(const std::string& bytes);
void fsync_path(const std::string& path);

}  // namespace nmt
