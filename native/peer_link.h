// The connection to the peer node: DRBD 8.4's two TCP sockets (data and meta), the connect
// loop, feature exchange and cram-hmac authentication, then the receivers, liveness (ping,
// timeouts, ko-count), the transfer log with its epochs and barriers on the sending side,
// and epoch accounting plus acknowledgements on the receiving side.
//
// Control packets (P_PROTOCOL, P_UUIDS, P_STATE, ...) are not interpreted here: they go to
// the control plane in order, and the data receiver waits until it has been handled.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "data_buffer.h"
#include "replicator.h"
#include "request.h"
#include "resync.h"
#include "tcp_socket.h"
#include "wire_bitmap.h"

namespace udrbd {

class Bitmap;

struct NetSettings {
  SockAddr local;
  SockAddr peer;
  int protocol = 3;  // 1 = A, 2 = B, 3 = C (P_PROTOCOL numbering)
  int ping_int_ms = 10000;
  int ping_timeout_ms = 500;
  int timeout_ms = 6000;
  int connect_int_ms = 10000;
  int ko_count = 7;
  int max_epoch_size = 2048;
  int sndbuf_size = 0;
  int rcvbuf_size = 0;
  std::string cram_hmac_alg;  // empty: no authentication
  std::string shared_secret;
};

// What the link needs from the local device (implemented by Device). Completions may run on
// any thread.
class PeerLinkHost {
 public:
  virtual ~PeerLinkHost() = default;
  // A replicated write from the peer (P_DATA, P_RS_DATA_REPLY): write it locally.
  virtual void PeerWrite(uint64_t offset, DataBuffer data, bool fua, bool flush,
                         std::function<void(int err)> done) = 0;
  // P_TRIM / P_ZEROES: zero [offset, offset+len).
  virtual void PeerZero(uint64_t offset, uint64_t len, std::function<void(int err)> done) = 0;
  // A read for the peer (P_DATA_REQUEST, P_RS_DATA_REQUEST).
  virtual void PeerRead(uint64_t offset, uint32_t len, std::function<void(int err, DataBuffer data)> done) = 0;
  // Flush the backing device before acknowledging a barrier (write ordering "flush").
  virtual void PeerFlush(std::function<void(int err)> done) = 0;
  // Writes that never reached the peer: set bitmap bits (rounding outward).
  virtual void MarkOutOfSync(uint64_t offset, uint64_t len) = 0;
  virtual uint64_t SizeBytes() const = 0;
  // The device's out-of-sync bitmap (bitmap exchange and resync).
  virtual Bitmap& OutOfSync() = 0;
  // The network part of an application request the link accepted is over (Device::net_done).
  virtual void NetDone(Request* req, bool ok) = 0;
};

// Why a connection ended, in DRBD's connection-state words.
enum class LinkLoss { kNetworkFailure, kBrokenPipe, kTimeout, kProtocolError, kTearDown };
const char* LinkLossName(LinkLoss l);

// Events from native threads to the control plane (delivered in order).
class PeerLinkEvents {
 public:
  virtual ~PeerLinkEvents() = default;
  virtual void OnConnecting() = 0;
  virtual void OnConnected(int agreed_protocol, uint32_t agreed_features, bool resolve_conflicts) = 0;
  // A control packet; for data-socket packets the data receiver waits for ResumeReceive().
  virtual void OnControl(uint16_t cmd, std::vector<uint8_t> payload, bool from_meta) = 0;
  virtual void OnLost(LinkLoss why) = 0;
  // Permanent failure (incompatible dialects, authentication): the control plane goes
  // StandAlone; the link has stopped.
  virtual void OnFatal(const std::string& reason) = 0;
  virtual void OnLog(int level, const std::string& msg) = 0;  // 20 debug 30 info 40 warn 50 error
  // A complete bitmap transfer was OR-ed into ours; BITS_SET: our set bits after the merge.
  virtual void OnBitmapReceived(uint64_t bits_set) = 0;
  // SyncTarget: every block is in sync except FAILED_BITS failed ones; once per resync.
  virtual void OnResyncDone(uint64_t failed_bits) = 0;
};

class PeerLink : public Replicator {
 public:
  PeerLink(PeerLinkHost* host, PeerLinkEvents* events);
  ~PeerLink() override;

  void Start(const NetSettings& s);  // StandAlone -> WFConnection (connect loop runs)
  void Stop();                       // close everything; the loop ends (StandAlone)
  void DropConnection(LinkLoss why);  // close the current connection; the loop reconnects
  void ResumeReceive();               // the control plane has handled the last OnControl

  // Sends a control packet built by the control plane (payload only; the header is added).
  bool SendControl(uint16_t cmd, const std::vector<uint8_t>& payload, bool on_meta);

  // Whether application writes go to the peer now (Connected and the peer's disk at least
  // Inconsistent): set by the control plane on each state change.
  void SetReplicating(bool on) { replicating_ = on; }

  // Replicator (called by the Device on its I/O threads; never blocks on the network).
  // A write goes out on the sender thread; the host's NetDone follows when the protocol's
  // network condition is met (A: sent, B: P_RECV_ACK, C: P_WRITE_ACK), or with false when
  // the peer failed it or the connection was lost.
  bool submit_write(Request& req) override;
  bool submit_read(Request& req) override;
  // A flush closes the open epoch; NetDone once every earlier write is barrier-acknowledged
  // (so on the peer's stable storage).
  bool submit_flush(Request& req) override;

  bool connected() const { return connected_.load(); }

  // Resync (peer_link_resync.cc). SendBitmap queues the whole bitmap on the sender thread
  // (after everything queued before it, contiguous on the data socket); false when not
  // connected.
  bool SendBitmap(bool use_rle);
  // CSUMS_ALG (csums-alg, both sides the same; empty: none): the target sends a digest of its
  // block and the source answers P_RS_IS_IN_SYNC when its own block has the same.
  void StartResync(ResyncRole role, uint32_t max_bio_size, const std::string& csums_alg = "");
  void StopResync();
  // SyncTarget: sends up to N_BLOCKS 4 KiB blocks of P_RS_DATA_REQUEST; returns the number of
  // requests queued.
  uint32_t ResyncTick(uint32_t n_blocks);
  // sect_in is reset by each call (the controller's "since the last tick").
  ResyncStatus ResyncStatusTake();

  struct Counters {
    uint64_t ns_bytes, nr_bytes;
    int64_t pe, ua, ep;
  };
  Counters counters() const;

 private:
  struct TlEntry {
    Request* req;
    uint64_t offset;
    uint32_t len;
    uint32_t epoch;
    bool sent;
    bool net_done;
    std::chrono::steady_clock::time_point since;
  };
  struct SentEpoch {
    uint32_t nr;
    uint32_t writes;
    std::vector<uint64_t> ids;  // transfer-log entries released by this epoch's barrier ack
  };
  struct RecvEpoch {
    uint8_t barrier_raw[4] = {0, 0, 0, 0};
    bool barrier_seen = false;
    uint32_t writes = 0;
    uint32_t pending = 0;
    bool needs_drain = false;  // held a write without DP_SEND_WRITE_ACK (protocol A/B)
  };

  void Run();
  bool Establish(TcpSocket* data, TcpSocket* meta, bool* resolve_conflicts);
  bool ExchangeFeatures(TcpSocket& data, int* agreed, uint32_t* features, std::string* fatal);
  bool Authenticate(TcpSocket& data, std::string* fatal);
  LinkLoss DataReceiver();
  void MetaReceiver();
  void Teardown(LinkLoss why);

  bool SendPacket(TcpSocket& sock, std::mutex& mu, uint16_t cmd, const void* p1, size_t n1, const void* p2, size_t n2);
  // Caller holds the socket's send mutex.
  bool SendLocked(TcpSocket& sock, uint16_t cmd, const void* p1, size_t n1, const void* p2, size_t n2);
  bool SendData(uint16_t cmd, const void* p1, size_t n1, const void* p2 = nullptr, size_t n2 = 0);
  bool SendMeta(uint16_t cmd, const void* p, size_t n);
  void SendBlockAck(uint16_t cmd, const uint8_t* sector_raw, const uint8_t* block_id_raw, uint32_t size);
  // Caller holds tl_mu_: ends the open epoch; returns its number when it had writes (the
  // caller then sends P_BARRIER after releasing tl_mu_).
  bool CloseEpochLocked(uint32_t* barrier);
  void SendWrite(uint64_t id);
  void SendFlush(Request* req);
  void MaybeCloseIdleEpoch();
  void OnBarrierAck(const uint8_t* payload);
  void OnBlockAck(uint16_t cmd, const uint8_t* payload);
  void RecvWriteDone(const std::shared_ptr<RecvEpoch>& ep);
  void AckCompletedEpochs();
  void Fail(LinkLoss why);
  void ProtocolError(const std::string& what);
  // Reads exactly N bytes of the current packet from the data socket; false (link failed)
  // otherwise.
  bool RecvData(void* buf, size_t n);
  // Data receiver, peer_link_resync.cc.
  void ReceiveBitmap(uint16_t cmd, uint32_t length);
  void ReceiveRsDataReply(uint32_t length);
  void ReceiveDataReply(uint32_t length);
  void ReceiveCsumRequest(uint32_t length);
  void SendResyncRequests(uint64_t gen, std::vector<ResyncRequest> reqs);
  // Meta receiver: P_NEG_DREPLY, P_NEG_RS_DREPLY, P_RS_CANCEL.
  void OnRefusal(uint16_t cmd, const uint8_t* payload);
  void MaybeResyncDone();
  void SendRemoteRead(uint64_t id);
  // Teardown: requests waiting for the peer are forgotten (bits stay), reads fail.
  void ResyncTeardown();
  void Post(std::function<void()> work);  // runs on the sender thread, in order
  void SenderLoop();
  void HostOpBegin() { host_ops_++; }
  void HostOpEnd();
  void Log(int level, const std::string& m) { events_->OnLog(level, m); }

  PeerLinkHost* host_;
  PeerLinkEvents* events_;
  NetSettings settings_;

  std::thread thread_;
  std::thread meta_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::atomic<bool> failed_{false};
  std::atomic<bool> replicating_{false};
  LinkLoss fail_reason_ = LinkLoss::kNetworkFailure;
  TcpListener listener_;
  TcpSocket data_;
  TcpSocket meta_;
  std::mutex data_send_mu_;
  std::mutex meta_send_mu_;
  std::mutex sock_mu_;  // guards swapping data_/meta_ against Shutdown from other threads

  // Control packets on the data socket are handled one at a time by the control plane.
  std::mutex control_mu_;
  std::condition_variable control_cv_;
  bool control_busy_ = false;

  // Sending side (Primary): transfer log and epochs.
  std::mutex tl_mu_;
  std::condition_variable tl_cv_;
  std::unordered_map<uint64_t, TlEntry> tl_;
  std::deque<SentEpoch> sent_epochs_;
  std::vector<std::pair<uint32_t, Request*>> flush_waiters_;
  std::vector<uint64_t> epoch_ids_;  // entries of the open epoch
  uint64_t next_block_id_ = 1;
  uint32_t epoch_nr_ = 0;
  uint32_t epoch_inflight_ = 0;  // writes of the open epoch not yet net-done
  bool close_epoch_before_next_ = false;
  std::atomic<uint32_t> seq_{0};

  // Receiving side (Secondary): epochs in arrival order.
  std::mutex recv_mu_;
  std::condition_variable recv_cv_;
  std::deque<std::shared_ptr<RecvEpoch>> recv_epochs_;

  // Deferred sends (barriers, barrier acks after a flush) on one thread, in order, so the
  // meta receiver never blocks on the data socket.
  std::thread sender_thread_;
  std::mutex work_mu_;
  std::condition_variable work_cv_;
  std::deque<std::function<void()>> work_;
  bool sender_stop_ = false;

  // Local I/O started for the peer and not yet completed: teardown waits for them.
  std::atomic<int> host_ops_{0};
  std::mutex host_ops_mu_;
  std::condition_variable host_ops_cv_;

  // Liveness.
  std::atomic<int64_t> last_rx_ms_{0};
  std::atomic<bool> ping_pending_{false};
  std::atomic<int64_t> ping_sent_ms_{0};

  std::atomic<uint64_t> ns_bytes_{0};
  std::atomic<uint64_t> nr_bytes_{0};
  std::atomic<int64_t> pe_{0};
  std::atomic<int64_t> ua_{0};
  int agreed_ = 0;

  // Counts connections, so work queued for one never goes out on the next.
  std::atomic<uint64_t> conn_gen_{0};
  std::unique_ptr<Resync> resync_;
  std::unique_ptr<wire::BitmapDecoder> bitmap_rx_;  // data receiver thread only
  std::atomic<uint32_t> max_bio_{1u << 20};          // what one P_DATA_REQUEST may ask for
  std::mutex csums_mu_;
  std::string csums_alg_;  // guarded by csums_mu_

  // Reads served by the peer (P_DATA_REQUEST): one entry per request packet; a large
  // application read is split, and completes when its last part did. Guarded by tl_mu_.
  struct RemoteRead {
    Request* req;
    std::atomic<int> parts{0};
    std::atomic<bool> ok{true};
  };
  struct ReadPart {
    std::shared_ptr<RemoteRead> read;
    uint64_t offset;
    uint32_t len;
    char* dest;
    bool sent = false;
  };
  std::unordered_map<uint64_t, ReadPart> reads_;
  void ReadPartDone(const std::shared_ptr<RemoteRead>& rr, bool ok);
};

}  // namespace udrbd
