#include "device.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace udrbd {

Device::Device(const DeviceConfig& cfg, EventSink* events) : cfg_(cfg), events_(events) {
  disk_ = std::make_unique<LocalDisk>(cfg.backing_path);
  if (cfg.usable_bytes == 0 || cfg.usable_bytes % 512 != 0 || cfg.usable_bytes > disk_->size_bytes()) {
    throw std::runtime_error("usable size " + std::to_string(cfg.usable_bytes) +
                             " must be a positive multiple of 512 within the " +
                             std::to_string(disk_->size_bytes()) + " bytes of " + cfg.backing_path);
  }
  bitmap_ = std::make_unique<Bitmap>(cfg.bitmap_bits, cfg.usable_bytes);
  if (cfg.bitmap_offset < cfg.usable_bytes) {
    throw std::runtime_error("bitmap area at " + std::to_string(cfg.bitmap_offset) +
                             " overlaps the data area of " + cfg.backing_path);
  }
  bitmap_->load(*disk_, cfg.bitmap_offset);
  if (cfg.al_extents > 0) {
    al_ = std::make_unique<ActivityLog>(
        cfg.al_extents, cfg.al_offset,
        [this](uint64_t off, const uint8_t* block) {
          int e = disk_->write(off, block, 4096);
          return e ? e : disk_->sync();
        },
        // The bitmap carries an extent's out-of-sync bits once it leaves the log.
        [this](uint32_t) { flush_bitmap(); });
  }
  pool_ = std::make_unique<IoPool>(cfg.io_threads ? cfg.io_threads : 1, [this](Request* r) { execute(r); });
}

Device::~Device() {
  pool_.reset();
  try {
    flush_bitmap();
  } catch (const std::exception& e) {
    if (events_) events_->emit({"ioError", 0, EIO, 0, 0, e.what()});
  }
}

void Device::set_policy(const DevicePolicy& p) {
  uint32_t v = (p.primary ? kPrimary : 0) | (p.writable ? kWritable : 0) |
               (p.disk_usable ? kDiskUsable : 0) | (p.mark_out_of_sync ? kMarkOos : 0) |
               (p.read_from_peer_if_out_of_sync ? kReadPeerOos : 0);
  policy_.store(v, std::memory_order_release);
}

DevicePolicy Device::policy() const {
  uint32_t v = policy_bits();
  return {bool(v & kPrimary), bool(v & kWritable), bool(v & kDiskUsable), bool(v & kMarkOos), bool(v & kReadPeerOos)};
}

int Device::check(const Request* r, uint32_t pol) const {
  if (r->op == Op::Flush) return 0;
  if (r->len == 0 || r->offset > cfg_.usable_bytes || r->len > cfg_.usable_bytes - r->offset) {
    return IsWriteOp(r->op) ? ENOSPC : EINVAL;
  }
  // Secondary never accepts application writes (DESIGN.md "The block device").
  if (IsWriteOp(r->op) && !(pol & kWritable) && !(r->flags & kReqFromPeer)) return EPERM;
  return 0;
}

void Device::execute(Request* r) {
  ap_.fetch_add(1, std::memory_order_relaxed);
  uint32_t pol = policy_bits();
  if (int err = check(r, pol)) {
    finish(r, err);
    return;
  }
  r->local_err = 0;
  r->replicated = false;
  r->net_ok.store(false, std::memory_order_relaxed);
  const bool from_peer = (r->flags & kReqFromPeer) != 0;
  Replicator* rep = from_peer ? nullptr : replicator_.load(std::memory_order_acquire);
  bool local = (pol & kDiskUsable) != 0;

  if (r->op == Op::Read && !local) {
    // No usable local disk: only the peer can serve the read.
    r->parts_left.store(1, std::memory_order_relaxed);
    if (rep && rep->submit_read(*r)) {
      r->replicated = true;
      return;  // net_done completes it
    }
    finish(r, EIO);
    return;
  }
  if (r->op == Op::Read && rep && (pol & kReadPeerOos) && r->len > 0 &&
      bitmap_->find_next_set(r->offset / Bitmap::kBlockBytes) <= (r->offset + r->len - 1) / Bitmap::kBlockBytes) {
    // Some block of it is out of sync: our copy may be stale, the peer's is current.
    r->parts_left.store(1, std::memory_order_relaxed);
    if (rep->submit_read(*r)) {
      r->replicated = true;
      return;
    }
  }

  // Two parts while a replicator may take the write: set before offering it, because the
  // link may report the net part before submit_write returns.
  bool offer = (IsWriteOp(r->op) || r->op == Op::Flush) && rep != nullptr;
  r->parts_left.store(offer ? 2 : 1, std::memory_order_relaxed);
  if (offer) {
    if (r->op == Op::Flush ? rep->submit_flush(*r) : rep->submit_write(*r)) {
      r->replicated = true;
    } else {
      r->parts_left.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  if (local) {
    lo_.fetch_add(1, std::memory_order_relaxed);
    // Application writes enter the activity log first, so that a crash of this Primary
    // resyncs exactly the extents that may differ (spec/metadata-v08.md §4).
    const bool logged = al_ && !from_peer && IsWriteOp(r->op);
    r->local_err = logged ? al_->BeginIo(r->offset, r->len) : 0;
    if (!r->local_err) r->local_err = do_local(r);
    if (logged) al_->EndIo(r->offset, r->len);
    lo_.fetch_sub(1, std::memory_order_relaxed);
    if (r->local_err && events_) {
      events_->emit({"ioError", 0, r->local_err, r->offset, r->len,
                     std::string("local ") + (r->op == Op::Read ? "read" : "write") + " error: " +
                         std::strerror(r->local_err)});
    }
  } else {
    r->local_err = EIO;  // diskless write: succeeds only if the peer has it
  }
  part_done(r);
}

int Device::do_local(Request* r) {
  switch (r->op) {
    case Op::Read: {
      int e = disk_->read(r->offset, r->data, r->len);
      if (!e) dr_.fetch_add(r->len, std::memory_order_relaxed);
      return e;
    }
    case Op::Write: {
      int e = disk_->write(r->offset, r->data, r->len);
      if (!e) dw_.fetch_add(r->len, std::memory_order_relaxed);
      if (!e && (r->flags & kReqFua)) e = disk_->sync();
      return e;
    }
    case Op::Trim:
    case Op::Zeroes: {
      int e = r->op == Op::Trim ? disk_->discard(r->offset, r->len)
                                : disk_->zero(r->offset, r->len, !(r->flags & kReqNoHole));
      if (!e) dw_.fetch_add(r->len, std::memory_order_relaxed);
      if (!e && (r->flags & kReqFua)) e = disk_->sync();
      return e;
    }
    case Op::Flush:
      return disk_->sync();
  }
  return EINVAL;
}

void Device::net_done(Request* r, bool ok) {
  if (ok) r->net_ok.store(true, std::memory_order_release);
  part_done(r);
}

void Device::part_done(Request* r) {
  if (r->parts_left.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  bool net_ok = r->net_ok.load(std::memory_order_acquire);
  if (r->op == Op::Read) {
    finish(r, r->replicated ? (net_ok ? 0 : EIO) : r->local_err);
    return;
  }
  if (IsWriteOp(r->op) && !(r->flags & kReqFromPeer)) {
    // Blocks the peer did not get are out of sync: a replicated write whose net part failed,
    // or a write while not replicating when the policy says so (disconnected Primary).
    bool mark = r->replicated ? !net_ok : (policy_bits() & kMarkOos) != 0;
    if (mark || r->local_err) bitmap_->set_range(r->offset, r->len);
  }
  // A failed local part is hidden when the peer has the data (it is marked out of sync above).
  finish(r, r->local_err && !net_ok ? r->local_err : 0);
}

void Device::finish(Request* r, int err) {
  ap_.fetch_sub(1, std::memory_order_relaxed);
  r->complete(r, err);
}

uint64_t Device::flush_bitmap() {
  std::lock_guard<std::mutex> lk(bitmap_flush_mu_);
  return bitmap_->flush(*disk_, cfg_.bitmap_offset);
}

DeviceCounters Device::counters() const {
  auto rd = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  auto ri = [](const std::atomic<int64_t>& a) { return a.load(std::memory_order_relaxed); };
  return DeviceCounters{rd(ns_) >> 10, rd(nr_) >> 10, rd(dw_) >> 10, rd(dr_) >> 10, al_ ? al_->transactions() : 0, rd(bm_),
                        ri(lo_), ri(pe_), ri(ua_), ri(ap_), ri(ep_), bitmap_->count() * 4};
}

}  // namespace udrbd
