// Device: the request path of one minor (docs/architecture.md "Native objects"). Application
// requests arrive from the frontend; the device checks them against the policy the control
// plane set, does the local I/O on the backing device's data area, offers writes to the
// replicator (peer link) when one is attached, marks the bitmap for writes that did not reach
// the peer, completes per the rule in replicator.h, and keeps the /proc/drbd counters.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "activity_log.h"
#include "bitmap.h"
#include "events.h"
#include "io_pool.h"
#include "local_disk.h"
#include "replicator.h"
#include "request.h"

namespace udrbd {

struct DeviceConfig {
  std::string backing_path;
  uint64_t usable_bytes = 0;       // the data area: [0, usable_bytes) of the backing device
  uint64_t bitmap_offset = 0;      // byte offset of the on-disk bitmap area
  uint64_t bitmap_bits = 0;        // >= ceil(usable_bytes / 4 KiB)
  unsigned io_threads = 2;         // the pool behind submit()
  uint32_t al_extents = 0;         // activity-log slots; 0 = no activity log
  uint64_t al_offset = 0;          // byte offset of the activity-log area
};

// Set from JS with one call per state change, never per request.
struct DevicePolicy {
  bool primary = false;           // role
  bool writable = false;          // application writes allowed (Primary, not frozen, ...)
  bool disk_usable = true;        // the local disk may serve I/O (attached, not Failed)
  bool mark_out_of_sync = false;  // writes that are not replicated set bitmap bits
  // SyncTarget: a read touching an out-of-sync block is served by the peer (the local copy
  // is stale there); falls back to the local disk when the link cannot take it.
  bool read_from_peer_if_out_of_sync = false;
};

// Counters of the /proc/drbd line (spec/proc-drbd.md §2.3), KiB or counts as there.
struct DeviceCounters {
  uint64_t ns, nr, dw, dr, al, bm;
  int64_t lo, pe, ua, ap, ep;
  uint64_t oos;
};

class Device {
 public:
  // Opens the backing device and loads the bitmap; throws std::runtime_error.
  Device(const DeviceConfig& cfg, EventSink* events);
  ~Device();  // flushes the bitmap (best effort) after the pool drained
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // Runs the request on the device's I/O pool (for callers that must not block).
  void submit(Request* r) { pool_->push(r); }
  // Runs the local part on the calling native thread: for callers that are I/O threads
  // themselves (the NBD connection workers), which saves a thread hand-off per request.
  void execute(Request* r);
  // The replicator reports the net part of a request it accepted (see replicator.h).
  void net_done(Request* r, bool ok);
  // Attach (or detach with nullptr) the peer link. The caller guarantees that a detached
  // replicator has completed every request it accepted before it is destroyed.
  void set_replicator(Replicator* r) { replicator_.store(r, std::memory_order_release); }

  void set_policy(const DevicePolicy& p);
  DevicePolicy policy() const;
  bool writes_allowed() const { return policy_bits() & kWritable; }
  // While every bit is out of sync anyway, activity-log transactions are pointless (the
  // `s` flag of /proc/drbd); the control plane sets and clears this.
  void set_al_suspended(bool s) {
    if (al_) al_->SetSuspended(s);
  }
  bool al_suspended() const { return al_ && al_->suspended(); }

  uint64_t usable_bytes() const { return cfg_.usable_bytes; }
  DeviceCounters counters() const;
  Bitmap& bitmap() { return *bitmap_; }
  // Writes the dirty bitmap pages; serialised so concurrent callers do not interleave.
  uint64_t flush_bitmap();

 private:
  static constexpr uint32_t kPrimary = 1, kWritable = 2, kDiskUsable = 4, kMarkOos = 8, kReadPeerOos = 16;
  uint32_t policy_bits() const { return policy_.load(std::memory_order_acquire); }
  int check(const Request* r, uint32_t pol) const;
  int do_local(Request* r);
  void part_done(Request* r);
  void finish(Request* r, int err);

  DeviceConfig cfg_;
  EventSink* events_;
  std::unique_ptr<LocalDisk> disk_;
  std::unique_ptr<Bitmap> bitmap_;
  std::unique_ptr<ActivityLog> al_;
  std::atomic<uint32_t> policy_{kDiskUsable};
  std::atomic<Replicator*> replicator_{nullptr};
  std::mutex bitmap_flush_mu_;

  // Counters. dw/dr/ns/nr in bytes here, reported in KiB.
  std::atomic<uint64_t> ns_{0}, nr_{0}, dw_{0}, dr_{0}, bm_{0};
  std::atomic<int64_t> lo_{0}, pe_{0}, ua_{0}, ap_{0}, ep_{0};

  std::unique_ptr<IoPool> pool_;  // last: its threads use everything above
};

}  // namespace udrbd
