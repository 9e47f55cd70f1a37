// Events a native object reports to the control plane (client connected, I/O error, ...).
// Producers run on native threads; the sink batches them towards one JS callback.
#pragma once
#include <cstdint>
#include <string>

namespace udrbd {

struct Event {
  std::string type;     // "clientConnected", "clientDisconnected", "ioError", "nbdError"
  uint64_t client = 0;  // NBD connection id, 0 if none
  int err = 0;          // errno, 0 if none
  uint64_t offset = 0;
  uint64_t len = 0;
  std::string text;     // human-readable detail
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Thread-safe, never blocks on JS.
  virtual void emit(Event ev) = 0;
};

}  // namespace udrbd
