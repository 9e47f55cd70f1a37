// The hook through which a Device hands application requests to the peer link. The peer link
// (native/peer_link.*, later) implements it; with none attached the device is "not replicating".
//
// Completion rule (spec/replication-protocol.md §1): an application write completes when its
// local part is done AND either it is not replicated or the network condition of the protocol
// holds (A: handed to the send path, B: P_RECV_ACK, C: P_WRITE_ACK). A write whose net part
// failed (P_NEG_ACK, connection lost before its epoch was barrier-acked) still completes OK when
// the local write succeeded, and its blocks are marked out of sync.
#pragma once
#include "request.h"

namespace udrbd {

class Replicator {
 public:
  virtual ~Replicator() = default;
  // Offers a write (Write/Trim/Zeroes) to the peer, called before the local write starts.
  // Returns true when the link took it: the link then calls Device::net_done(req, ok) exactly
  // once, possibly before this call returns, and reads req.data only until then. Returns false
  // when not replicating right now (no connection, peer disk < Inconsistent, Ahead); the device
  // then treats the write as "not replicated". Must never block on the network.
  virtual bool submit_write(Request& req) = 0;
  // Offers a read the local disk cannot serve (diskless, or an out-of-sync block while
  // SyncTarget). True: the link fills req.data and calls net_done. False: the read fails (EIO).
  virtual bool submit_read(Request& req) = 0;
  // Offers an application flush: true when the link will call net_done once every write
  // completed before it is on the peer's stable storage (barrier-acknowledged).
  virtual bool submit_flush(Request& req) = 0;
};

}  // namespace udrbd
