// Events a native object reports to the control plane (client connected, I/O error, ...).
// Producers run on native threads; the sink batches them towards one JS callback.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace udrbd {

struct Event {
  std::string type;     // "clientConnected", "clientDisconnected", "ioError", "nbdError"
  uint64_t client = 0;  // NBD connection id, 0 if none
  int err = 0;          // errno, 0 if none
  uint64_t offset = 0;
  uint64_t len = 0;
  std::string text = {};  // human-readable detail
  // Further named numbers and one byte payload, for events that carry more than the fields
  // above (the peer link's connection and control-packet events).
  std::vector<std::pair<std::string, double>> numbers = {};
  std::vector<uint8_t> payload = {};
  bool has_payload = false;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Thread-safe, never blocks on JS.
  virtual void emit(Event ev) = 0;
};

}  // namespace udrbd
