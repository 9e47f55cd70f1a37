// Resync bookkeeping of one device (spec/resync.md §3, §5; wire-protocol-84.md §10), kept
// apart from the sockets: the peer link feeds it packets and sends what it decides.
//
// SyncTarget (pull model): Plan() turns the controller's budget into P_RS_DATA_REQUESTs read
// from the bitmap at the scan position; every request stays outstanding until its reply was
// written locally (bits cleared), refused (P_NEG_RS_DREPLY: counted failed, bits stay) or
// cancelled (P_RS_CANCEL: rescanned later). SyncSource: the target's P_RS_WRITE_ACKs clear
// our bits. Both: peer writes during the resync may clear bits (DP_MAY_SET_IN_SYNC).
//
// Thread use: Plan/Start/Stop/Status come from JS, replies from the data receiver, acks from
// the meta receiver, write completions from the device's I/O threads; one mutex guards all
// state and is never held while anything is sent.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

namespace udrbd {

class Bitmap;

constexpr uint64_t kBlockSectors = 8;                // one bitmap bit = 4 KiB
constexpr uint64_t kResyncExtentBits = 4096;         // 16 MiB resync extent (BM_EXT_SIZE)
constexpr uint32_t kResyncMaxBio = 1u << 20;         // DRBD_MAX_BIO_SIZE at agreed >= 100

// The request-building rules of spec/resync.md §5 step 5, as a pure function: how many 4 KiB
// blocks one request starting at block FIRST may cover. It grows over following blocks for
// which WANTED is true, up to BUDGET blocks, MAX_BIO_SIZE bytes, the natural alignment of its
// start (a request starting at a multiple of 2^k blocks, and of no higher power, covers at
// most 2^k blocks), the end of FIRST's 16 MiB extent and the last block NBITS - 1.
// Returns 0 when BUDGET is 0 or FIRST is past the end.
uint32_t ResyncRequestBlocks(uint64_t first, uint32_t budget, uint64_t nbits, uint32_t max_bio_size,
                             const std::function<bool(uint64_t block)>& wanted);

enum class ResyncRole { kNone, kSource, kTarget };

struct ResyncRequest {
  uint64_t sector;
  uint32_t size;  // bytes
};

struct ResyncStatus {
  uint64_t sect_in;       // sectors received since the previous Status(true)
  uint64_t rs_in_flight;  // sectors requested and not yet received
  uint64_t bits_left;     // set bits in the bitmap
  uint64_t failed_bits;   // blocks that failed (read error at the source, write error here)
  uint64_t position;      // next bit the target scans from
};

class Resync {
 public:
  // DEVICE_BYTES: the replicated size; the bit count on the wire is ceil(DEVICE_BYTES / 4 KiB).
  Resync(Bitmap* bitmap, uint64_t device_bytes);

  void Start(ResyncRole role, uint32_t max_bio_size);
  // Stops generating requests (pause, done); outstanding requests still complete normally.
  void Stop();
  ResyncRole role() const;
  // In a sync state: our replicated writes carry DP_MAY_SET_IN_SYNC and the peer's writes
  // with it clear bits here.
  bool active() const;

  // SyncTarget: up to BUDGET blocks of new requests from the scan position (wrapping once to
  // the start for bits set behind it). ROOM is asked before each request; false stops.
  // The caller sends them all; each is outstanding from now on.
  std::vector<ResyncRequest> Plan(uint32_t budget, const std::function<bool()>& room);

  // SyncTarget, P_RS_DATA_REPLY: false if it answers no outstanding request (protocol error).
  // *WRITES receives the parts of the range to write: blocks a newer peer write reached after
  // the request was sent are left out (the reply may hold older data than that write).
  bool ReplyArrived(uint64_t sector, uint32_t size, std::vector<ResyncRequest>* writes);
  // The local write of an arrived reply finished: clears the written bits, or counts the
  // range failed.
  void ReplyWritten(uint64_t sector, uint32_t size, const std::vector<ResyncRequest>& writes, bool ok);
  // SyncTarget, P_NEG_RS_DREPLY (failed = true) or P_RS_CANCEL (failed = false). False if it
  // matches no outstanding request.
  bool Refused(uint64_t sector, uint32_t size, bool failed);

  // SyncTarget, P_RS_IS_IN_SYNC (csums-alg: the source's block has our digest): clears the
  // bits. False if it matches no outstanding request.
  bool InSync(uint64_t sector, uint32_t size);

  // A peer write (P_DATA) about to be written here: waits until no resync write overlapping
  // it is in progress (so the two cannot land in the wrong order), and marks overlapping
  // outstanding requests so their (possibly older) reply does not overwrite it.
  void PeerWriteBegins(uint64_t sector, uint32_t size);

  // SyncSource: the target wrote (ok) or failed (P_NEG_ACK) a resync block.
  void SourceAck(uint64_t sector, uint32_t size, bool ok);

  // Connection lost: forget everything outstanding (bits stay set), stop. Returns the number
  // of requests that were still waiting for their reply.
  uint64_t Teardown();

  ResyncStatus Status(bool take_sect_in);
  // True exactly once per Start when the target is done: no request outstanding and no set
  // bit left other than failed ones. *FAILED: the failed block count.
  bool TakeDone(uint64_t* failed);

 private:
  struct Outstanding {
    uint32_t blocks = 0;
    uint32_t size = 0;     // bytes (the last block of the device may be partial)
    bool arrived = false;  // reply received, local write in progress
    std::vector<std::pair<uint64_t, uint64_t>> superseded;  // [first, end) blocks
  };
  // Caller holds mu_. The outstanding request containing BLOCK, or end().
  std::map<uint64_t, Outstanding>::iterator FindLocked(uint64_t block);
  bool WantedLocked(uint64_t block) const;
  uint64_t NextWantedLocked(uint64_t from, uint64_t end) const;
  bool Range(uint64_t sector, uint32_t size, uint64_t* first, uint64_t* blocks) const;

  Bitmap* bm_;
  const uint64_t device_bytes_;
  const uint64_t nbits_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // an arrived reply's write finished
  ResyncRole role_ = ResyncRole::kNone;
  bool active_ = false;
  bool done_reported_ = true;
  uint32_t max_bio_ = kResyncMaxBio;
  uint64_t position_ = 0;
  std::map<uint64_t, Outstanding> outstanding_;  // by first block
  std::set<uint64_t> failed_;                    // failed blocks (not requested again)
  uint64_t sect_in_ = 0;
  uint64_t in_flight_sectors_ = 0;
  uint64_t source_failed_ = 0;
};

}  // namespace udrbd
