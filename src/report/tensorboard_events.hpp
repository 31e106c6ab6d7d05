// TensorBoard's event files: a run's metrics as scalar summaries in the TFRecord frames TensorBoard reads.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace nmt {

class AppendFile;

// Whether this nmt was built with protobuf-c and Boost.CRC, which encode the events.
bool tensorboard_available();

// TFRecord's check of a frame's length and of its data: CRC-32C, rotated and offset ("masked").
uint32_t tfrecord_masked_crc(const std::string& bytes);

using Scalars = std::vector<std::pair<std::string, float>>;

// A metrics record's numbers as scalars tagged "<type>/<key>" ("train/loss", "valid/bleu"), in
// key order; its "step" is the x axis, not a scalar, and its strings are skipped.
Scalars scalars_of(const nlohmann::json& record);

class TensorBoardWriter {
 public:
  // Creates `dir` and a new event file in it, events.out.tfevents.<seconds>.<host>.<pid>.<n>, which
  // opens with the format's name and TensorBoard's restart mark at the step after `start_step` (the
  // step a run resumes from, or 0): TensorBoard drops the points of earlier files from that step
  // on, which a resumed run writes again.
  TensorBoardWriter(const std::string& dir, int64_t start_step);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // One event of the scalars at `step`, stamped with the wall time, in one write: a reader never
  // sees half of it, and a failed write (a full disk) is an error naming the file.
  void write(int64_t step, const Scalars& scalars);

 private:
  std::unique_ptr<AppendFile> file_;
};

}  // namespace nmt
