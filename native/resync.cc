#include "resync.h"

#include <algorithm>

#include "bitmap.h"

namespace udrbd {

uint32_t ResyncRequestBlocks(uint64_t first, uint32_t budget, uint64_t nbits, uint32_t max_bio_size,
                             const std::function<bool(uint64_t block)>& wanted) {
  if (budget == 0 || first >= nbits) return 0;
  uint64_t limit = std::min<uint64_t>(budget, std::max<uint32_t>(max_bio_size / Bitmap::kBlockBytes, 1));
  // Natural alignment: the largest power of two dividing the start bounds the size (block 0
  // is aligned to everything).
  if (first != 0) limit = std::min<uint64_t>(limit, first & (~first + 1));
  // Never into the next 16 MiB resync extent, never past the device.
  limit = std::min(limit, kResyncExtentBits - first % kResyncExtentBits);
  limit = std::min(limit, nbits - first);
  uint64_t n = 1;  // FIRST itself is the set bit the scan found
  while (n < limit && wanted(first + n)) n++;
  return static_cast<uint32_t>(n);
}

Resync::Resync(Bitmap* bitmap, uint64_t device_bytes)
    : bm_(bitmap), device_bytes_(device_bytes), nbits_((device_bytes + Bitmap::kBlockBytes - 1) / Bitmap::kBlockBytes) {}

void Resync::Start(ResyncRole role, uint32_t max_bio_size) {
  std::lock_guard<std::mutex> l(mu_);
  role_ = role;
  active_ = role != ResyncRole::kNone;
  done_reported_ = role != ResyncRole::kTarget;
  // A request is whole 4 KiB blocks and at most what either side can take in one bio.
  max_bio_ = std::clamp<uint32_t>(max_bio_size - max_bio_size % Bitmap::kBlockBytes,
                                  static_cast<uint32_t>(Bitmap::kBlockBytes), kResyncMaxBio);
  position_ = 0;
  sect_in_ = 0;
  in_flight_sectors_ = 0;
  source_failed_ = 0;
  // A new resync retries blocks that failed before; requests still outstanding from before a
  // pause stay tracked (their replies will come).
  failed_.clear();
}

void Resync::Stop() {
  std::lock_guard<std::mutex> l(mu_);
  active_ = false;
}

ResyncRole Resync::role() const {
  std::lock_guard<std::mutex> l(mu_);
  return active_ ? role_ : ResyncRole::kNone;
}

bool Resync::active() const {
  std::lock_guard<std::mutex> l(mu_);
  return active_;
}

std::map<uint64_t, Resync::Outstanding>::iterator Resync::FindLocked(uint64_t block) {
  auto it = outstanding_.upper_bound(block);
  if (it == outstanding_.begin()) return outstanding_.end();
  --it;
  return block < it->first + it->second.blocks ? it : outstanding_.end();
}

bool Resync::WantedLocked(uint64_t block) const {
  if (block >= nbits_ || !bm_->test(block) || failed_.count(block)) return false;
  auto it = outstanding_.upper_bound(block);
  if (it == outstanding_.begin()) return true;
  --it;
  return block >= it->first + it->second.blocks;
}

// First block in [from, end) that is out of sync, not failed and not already requested.
uint64_t Resync::NextWantedLocked(uint64_t from, uint64_t end) const {
  end = std::min(end, nbits_);
  while (from < end) {
    uint64_t b = bm_->find_next_set(from);
    if (b >= end) return end;
    if (failed_.count(b)) {
      from = b + 1;
      continue;
    }
    auto it = outstanding_.upper_bound(b);
    if (it != outstanding_.begin()) {
      --it;
      if (b < it->first + it->second.blocks) {
        from = it->first + it->second.blocks;
        continue;
      }
    }
    return b;
  }
  return end;
}

std::vector<ResyncRequest> Resync::Plan(uint32_t budget, const std::function<bool()>& room) {
  std::vector<ResyncRequest> out;
  std::lock_guard<std::mutex> l(mu_);
  if (!active_ || role_ != ResyncRole::kTarget) return out;
  bool wrapped = false;
  auto wanted = [this](uint64_t b) { return WantedLocked(b); };
  while (budget > 0) {
    uint64_t b = NextWantedLocked(position_, nbits_);
    if (b >= nbits_) {
      // Bits behind the position (cancelled requests, blocks a superseded reply left out)
      // are picked up by one pass from the start.
      if (wrapped || position_ == 0) {
        position_ = nbits_;
        break;
      }
      wrapped = true;
      position_ = 0;
      continue;
    }
    position_ = b;
    if (!room()) break;
    uint32_t n = ResyncRequestBlocks(b, budget, nbits_, max_bio_, wanted);
    uint64_t offset = b * Bitmap::kBlockBytes;
    uint64_t bytes = std::min<uint64_t>(uint64_t{n} * Bitmap::kBlockBytes, device_bytes_ - offset);
    Outstanding o;
    o.blocks = n;
    o.size = static_cast<uint32_t>(bytes);
    outstanding_.emplace(b, std::move(o));
    in_flight_sectors_ += bytes >> 9;
    budget -= n;
    position_ = b + n;
    out.push_back(ResyncRequest{offset >> 9, static_cast<uint32_t>(bytes)});
  }
  return out;
}

bool Resync::ReplyArrived(uint64_t sector, uint32_t size, std::vector<ResyncRequest>* writes) {
  std::lock_guard<std::mutex> l(mu_);
  if (sector % kBlockSectors) return false;
  auto it = outstanding_.find(sector / kBlockSectors);
  if (it == outstanding_.end() || it->second.arrived || it->second.size != size) return false;
  Outstanding& o = it->second;
  o.arrived = true;
  sect_in_ += size >> 9;
  in_flight_sectors_ -= size >> 9;
  // The blocks to write: the request minus what newer peer writes already covered.
  std::vector<bool> skip(o.blocks, false);
  for (auto [s, e] : o.superseded) {
    for (uint64_t b = std::max(s, it->first); b < std::min(e, it->first + o.blocks); b++) skip[b - it->first] = true;
  }
  writes->clear();
  const uint64_t end_byte = sector * 512 + size;
  for (uint32_t i = 0; i < o.blocks;) {
    if (skip[i]) {
      i++;
      continue;
    }
    uint32_t j = i;
    while (j < o.blocks && !skip[j]) j++;
    uint64_t from = (it->first + i) * Bitmap::kBlockBytes;
    uint64_t to = std::min<uint64_t>((it->first + j) * Bitmap::kBlockBytes, end_byte);
    writes->push_back(ResyncRequest{from >> 9, static_cast<uint32_t>(to - from)});
    i = j;
  }
  return true;
}

void Resync::ReplyWritten(uint64_t sector, uint32_t size, const std::vector<ResyncRequest>& writes, bool ok) {
  {
    std::lock_guard<std::mutex> l(mu_);
    const uint64_t first = sector / kBlockSectors;
    auto it = outstanding_.find(first);
    if (ok) {
      // Rounding inward (a partial last block of the device counts): Bitmap::clear_range.
      for (const ResyncRequest& w : writes) bm_->clear_range(w.sector << 9, w.size);
    } else {
      uint64_t blocks = (uint64_t{size} + Bitmap::kBlockBytes - 1) / Bitmap::kBlockBytes;
      for (uint64_t b = first; b < first + blocks; b++) failed_.insert(b);
    }
    if (it != outstanding_.end()) outstanding_.erase(it);
  }
  cv_.notify_all();
}

bool Resync::Refused(uint64_t sector, uint32_t size, bool failed) {
  std::lock_guard<std::mutex> l(mu_);
  if (sector % kBlockSectors) return false;
  const uint64_t first = sector / kBlockSectors;
  auto it = outstanding_.find(first);
  if (it == outstanding_.end() || it->second.arrived || it->second.size != size) return false;
  in_flight_sectors_ -= size >> 9;
  if (failed) {
    for (uint64_t b = first; b < first + it->second.blocks; b++) failed_.insert(b);
  } else {
    // The source cannot serve it now: the next tick asks again.
    position_ = std::min(position_, first);
  }
  outstanding_.erase(it);
  return true;
}

bool Resync::InSync(uint64_t sector, uint32_t size) {
  std::lock_guard<std::mutex> l(mu_);
  if (sector % kBlockSectors) return false;
  auto it = outstanding_.find(sector / kBlockSectors);
  if (it == outstanding_.end() || it->second.arrived || it->second.size != size) return false;
  // Counted like received data: the controller paces on answered sectors.
  sect_in_ += size >> 9;
  in_flight_sectors_ -= size >> 9;
  // Blocks a newer peer write reached meanwhile are equal too: the source compared its
  // current data, and that write brings the same (or newer) data here.
  bm_->clear_range(sector << 9, size);
  outstanding_.erase(it);
  return true;
}

void Resync::PeerWriteBegins(uint64_t sector, uint32_t size) {
  std::unique_lock<std::mutex> l(mu_);
  if (outstanding_.empty() || size == 0) return;
  const uint64_t first = sector / kBlockSectors;
  const uint64_t end = (sector * 512 + size + Bitmap::kBlockBytes - 1) / Bitmap::kBlockBytes;
  auto overlapping_write = [&] {
    auto it = outstanding_.upper_bound(first);
    if (it != outstanding_.begin()) --it;
    for (; it != outstanding_.end() && it->first < end; ++it) {
      if (it->first + it->second.blocks > first && it->second.arrived) return true;
    }
    return false;
  };
  cv_.wait(l, [&] { return !overlapping_write(); });
  auto it = outstanding_.upper_bound(first);
  if (it != outstanding_.begin()) --it;
  for (; it != outstanding_.end() && it->first < end; ++it) {
    if (it->first + it->second.blocks > first) it->second.superseded.emplace_back(first, end);
  }
}

void Resync::SourceAck(uint64_t sector, uint32_t size, bool ok) {
  if (ok) {
    bm_->clear_range(sector << 9, size);
    return;
  }
  std::lock_guard<std::mutex> l(mu_);
  source_failed_ += (uint64_t{size} + Bitmap::kBlockBytes - 1) / Bitmap::kBlockBytes;
}

uint64_t Resync::Teardown() {
  uint64_t waiting = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [first, o] : outstanding_) {
      (void)first;
      if (!o.arrived) waiting++;
    }
    active_ = false;
    outstanding_.clear();
    in_flight_sectors_ = 0;
    done_reported_ = true;
  }
  cv_.notify_all();
  return waiting;
}

ResyncStatus Resync::Status(bool take_sect_in) {
  std::lock_guard<std::mutex> l(mu_);
  ResyncStatus s{sect_in_, in_flight_sectors_, bm_->count(),
                 role_ == ResyncRole::kSource ? source_failed_ : static_cast<uint64_t>(failed_.size()),
                 std::min(position_, nbits_)};
  if (take_sect_in) sect_in_ = 0;
  return s;
}

bool Resync::TakeDone(uint64_t* failed) {
  std::lock_guard<std::mutex> l(mu_);
  if (done_reported_ || !active_ || role_ != ResyncRole::kTarget || !outstanding_.empty()) return false;
  // More set bits than failed ones means some wanted block is left; otherwise look exactly
  // (a failed block may have been cleared by a peer write meanwhile).
  if (bm_->count() > failed_.size() || NextWantedLocked(0, nbits_) < nbits_) return false;
  done_reported_ = true;
  *failed = failed_.size();
  return true;
}

}  // namespace udrbd
