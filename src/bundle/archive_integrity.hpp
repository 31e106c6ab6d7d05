// Checks a checkpoint's zip container before LibTorch parses it: LibTorch reads stored entries
// without checking their CRC-32, and its TorchScript importer can crash on damaged bytes
// (found by fuzzing, docs/RELIABILITY.md). A damaged file must be an error, never a crash.
#pragma once
#include <string>

namespace nmt {

// Throws "checkpoint 'PATH' is corrupt or truncated: ..." unless the zip structure is consistent
// and every entry's data matches its CRC-32.
void require_intact_archive(const std::string& path);

}  // namespace nmt
