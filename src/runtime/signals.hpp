// SIGINT/SIGTERM become a flag the trainer checks between steps.
#pragma once

namespace nmt {

void install_stop_handlers();
int stop_signal();  // 0 when no stop was requested

// Thrown to leave a command with a specific exit code (e.g. 128 + signal) after a clean stop.
struct ExitRequest {
  int code;
  const char* message;
};

}  // namespace nmt
