// Filesystem helpers that never leave half-written files behind and name the file and the cause
// of every failure ("No space left on device").
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace nmt {

// Calls write(tmp_path), fsyncs, then renames tmp_path over path. On any failure the
// temporary file is removed, `path` keeps its previous content, and the error names `path`.
void write_file_atomically(const std::string& path, const std::function<void(const std::string&)>& write);
// Atomically replaces `path` with `bytes` (text or binary), as write_file_atomically does.
void write_text_atomically(const std::string& path, const std::string& bytes);
// Writes all of `bytes` to `fd`; throws the cause ("No space left on device") when the kernel refuses.
void write_all(int fd, const std::string& bytes);
// For tests: the n-th write_all from now (1 = the next) fails with `error_number`, as on a full
// disk; 0 disarms it.
void fail_nth_write_for_testing(int64_t n, int error_number);
std::string read_text_file(const std::string& path);
// 64-bit FNV-1a of `size` bytes, continuing from `hash` (so that pieces can be chained).
constexpr uint64_t kFnv1aOffset = 1469598103934665603ULL;
uint64_t fnv1a(const void* data, size_t size, uint64_t hash = kFnv1aOffset);
// The same as 16 hex digits: fingerprints of configs and vocabularies.
std::string fnv1a_hex(const std::string& bytes);
void fsync_path(const std::string& path);

}  // namespace nmt
