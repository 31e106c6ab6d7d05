#include "bundle/archive_integrity.hpp"

#include <zip.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace nmt {

void require_intact_archive(const std::string& path) {
  auto damaged = [&](const std::string& what) {
    return std::runtime_error("checkpoint '" + path + "' is corrupt or truncated: " + what);
  };
  int error = 0;
  std::unique_ptr<zip_t, decltype(&zip_discard)> archive(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &error),
                                                          zip_discard);
  if (!archive) {
    zip_error_t details;
    zip_error_init_with_code(&details, error);
    const std::string message = zip_error_strerror(&details);
    zip_error_fini(&details);
    throw damaged(message);
  }
  std::vector<char> buffer(1 << 20);
  const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    zip_file_t* entry = zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(i), 0);
    if (!entry) throw damaged(zip_strerror(archive.get()));
    // libzip compares the CRC-32 once the entry has been read to its end.
    zip_int64_t read = 0;
    while ((read = zip_fread(entry, buffer.data(), buffer.size())) > 0) {
    }
    const std::string message = read < 0 ? zip_file_strerror(entry) : "";
    zip_fclose(entry);
    if (read < 0) {
      const char* name = zip_get_name(archive.get(), static_cast<zip_uint64_t>(i), 0);
      throw damaged("entry '" + std::string(name ? name : "?") + "': " + message);
    }
  }
}

}  // namespace nmt
