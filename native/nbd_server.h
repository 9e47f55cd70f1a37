// NbdServer: the NBD frontend of one Device — newstyle-fixed handshake and transmission on a
// unix socket (and optionally TCP on a local address). Every client gets its own connection
// object with its own threads, so a slow, stalled or hostile client can only hold up itself.
#pragma once
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "device.h"
#include "events.h"

namespace udrbd {

class NbdConnection;

struct NbdServerConfig {
  std::string unix_path;         // "" = no unix socket
  std::string tcp_host;          // "" = no TCP listener
  int tcp_port = 0;              // 0 = ephemeral (see tcp_port())
  std::string export_name;       // also served as the default export ""
  unsigned workers_per_conn = 4; // requests one client can have in local I/O at once
  bool device_pool = false;      // hand requests to the device's I/O pool instead of inline
  unsigned max_inflight = 128;   // per client, before the server stops reading its socket
  unsigned max_clients = 64;     // connections beyond this are closed at once
};

class NbdServer {
 public:
  NbdServer(Device& device, const NbdServerConfig& cfg, EventSink* events);
  ~NbdServer();
  NbdServer(const NbdServer&) = delete;
  NbdServer& operator=(const NbdServer&) = delete;

  // Binds and listens (throws std::runtime_error), then accepts on background threads.
  void start();
  // Stops accepting, disconnects every client after its in-flight requests completed, joins.
  void stop();
  int tcp_port() const { return bound_tcp_port_; }
  unsigned clients() const;

  Device& device() { return device_; }
  const NbdServerConfig& config() const { return cfg_; }
  EventSink* events() { return events_; }

 private:
  void accept_loop(int listen_fd);
  void reap_finished();

  Device& device_;
  NbdServerConfig cfg_;
  EventSink* events_;
  int unix_fd_ = -1;
  int tcp_fd_ = -1;
  int bound_tcp_port_ = -1;
  std::vector<std::thread> acceptors_;
  mutable std::mutex mu_;
  std::list<std::unique_ptr<NbdConnection>> conns_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  uint64_t next_id_ = 1;
};

}  // namespace udrbd
