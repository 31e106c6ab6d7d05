// TensorBoard event files: Event protos encoded by protobuf-c, framed as TFRecords with Boost.CRC's CRC-32C.
#include "report/tensorboard_events.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <stdexcept>

#include "runtime/append_file.hpp"

#ifdef NMT_WITH_TENSORBOARD
#include <boost/crc.hpp>

#include <tensorboard_event.pb-c.h>  // generated from tensorboard_event.proto
#endif

namespace nmt {
namespace {

#ifdef NMT_WITH_TENSORBOARD
void append_little_endian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// A TFRecord: the data's length (8 bytes) and its check, the data, and the data's check.
std::string tfrecord(const std::string& data) {
  std::string length;
  append_little_endian(length, data.size(), 8);
  std::string record = length;
  append_little_endian(record, tfrecord_masked_crc(length), 4);
  record += data;
  append_little_endian(record, tfrecord_masked_crc(data), 4);
  return record;
}

std::string packed(const Tensorflow__Event& event) {
  std::string bytes(tensorflow__event__get_packed_size(&event), '\0');
  tensorflow__event__pack(&event, reinterpret_cast<uint8_t*>(bytes.data()));
  return bytes;
}

Tensorflow__Event event_now(int64_t step) {
  Tensorflow__Event event = TENSORFLOW__EVENT__INIT;
  event.wall_time = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  event.step = step;
  return event;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}
#else
[[noreturn]] void not_built() {
  throw std::runtime_error("training.tensorboard: this nmt was built without TensorBoard support; install "
                           "libprotobuf-c-dev, protobuf-c-compiler and libboost-dev (scripts/install-deps.sh) "
                           "and rebuild");
}
#endif

}  // namespace

bool tensorboard_available() {
#ifdef NMT_WITH_TENSORBOARD
  return true;
#else
  return false;
#endif
}

uint32_t tfrecord_masked_crc(const std::string& bytes) {
#ifdef NMT_WITH_TENSORBOARD
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc32c;
  crc32c.process_bytes(bytes.data(), bytes.size());
  const uint32_t crc = crc32c.checksum();
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
#else
  not_built();
#endif
}

Scalars scalars_of(const nlohmann::json& record) {
  const std::string prefix = record.value("type", std::string("metrics")) + "/";
  Scalars scalars;
  for (const auto& [key, value] : record.items())
    if (key != "step" && value.is_number()) scalars.emplace_back(prefix + key, value.get<float>());
  return scalars;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir, int64_t start_step) {
#ifdef NMT_WITH_TENSORBOARD
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) throw std::runtime_error("cannot create the TensorBoard directory '" + dir + "': " + error.message());
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  static std::atomic<int> files_of_this_process{0};  // a run resumed within the same second gets a file of its own
  file_ = std::make_unique<AppendFile>(dir + "/events.out.tfevents." + std::to_string(seconds) + "." + host_name() +
                                       "." + std::to_string(getpid()) + "." + std::to_string(files_of_this_process++));
  Tensorflow__Event version = event_now(0);
  version.what_case = TENSORFLOW__EVENT__WHAT_FILE_VERSION;
  version.file_version = const_cast<char*>("brain.Event:2");  // 2: restarts are marked, not guessed from steps
  Tensorflow__SessionLog session = TENSORFLOW__SESSION_LOG__INIT;
  session.status = TENSORFLOW__SESSION_LOG__SESSION_STATUS__START;
  Tensorflow__Event start = event_now(start_step + 1);
  start.what_case = TENSORFLOW__EVENT__WHAT_SESSION_LOG;
  start.session_log = &session;
  file_->append(tfrecord(packed(version)) + tfrecord(packed(start)));
#else
  not_built();
#endif
}

TensorBoardWriter::~TensorBoardWriter() = default;

void TensorBoardWriter::write(int64_t step, const Scalars& scalars) {
#ifdef NMT_WITH_TENSORBOARD
  std::vector<Tensorflow__Summary__Value> values(scalars.size());
  std::vector<Tensorflow__Summary__Value*> pointers;
  for (size_t i = 0; i < scalars.size(); ++i) {
    tensorflow__summary__value__init(&values[i]);
    values[i].tag = const_cast<char*>(scalars[i].first.c_str());  // protobuf-c's strings are char*; only read
    values[i].value_case = TENSORFLOW__SUMMARY__VALUE__VALUE_SIMPLE_VALUE;
    values[i].simple_value = scalars[i].second;
    pointers.push_back(&values[i]);
  }
  Tensorflow__Summary summary = TENSORFLOW__SUMMARY__INIT;
  summary.n_value = pointers.size();
  summary.value = pointers.data();
  Tensorflow__Event event = event_now(step);
  event.what_case = TENSORFLOW__EVENT__WHAT_SUMMARY;
  event.summary = &summary;
  file_->append(tfrecord(packed(event)));
#else
  not_built();
#endif
}

}  // namespace nmt
