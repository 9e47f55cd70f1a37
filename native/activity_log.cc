#include "activity_log.h"

#include <cerrno>
#include <cstring>

#include "crc32c.h"

namespace udrbd {

namespace {

constexpr uint32_t kAlMagic = 0x69CB65A2;

void Be16(uint8_t* p, uint16_t v) {
  p[0] = v >> 8;
  p[1] = v & 0xff;
}
void Be32(uint8_t* p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = (v >> 16) & 0xff;
  p[2] = (v >> 8) & 0xff;
  p[3] = v & 0xff;
}

}  // namespace

uint32_t ActivityLog::Crc(const uint8_t* p, size_t n) {
  // Crc32c() is the crypto API's variant (seed ~0, final inversion); the activity log uses
  // the raw update from seed 0: inverting both ends of the standard form gives exactly that.
  return ~Crc32c(p, n, 0xFFFFFFFFu);
}

// Layout (big-endian): magic, tr_number, crc32c, type, n_updates, context_size,
// context_start_slot_nr, 4 reserved u32, 64 update slot numbers (u16), 64 update extents
// (u32), 919 context extents (u32).
void ActivityLog::EncodeTransaction(uint8_t* b, uint32_t tr_number, uint16_t type,
                                    const std::vector<std::pair<uint16_t, uint32_t>>& updates, uint16_t context_size,
                                    uint16_t context_start, const std::vector<uint32_t>& slots) {
  std::memset(b, 0, 4096);
  Be32(b + 0x000, kAlMagic);
  Be32(b + 0x004, tr_number);
  Be16(b + 0x00C, type);
  Be16(b + 0x00E, static_cast<uint16_t>(updates.size()));
  Be16(b + 0x010, context_size);
  Be16(b + 0x012, context_start);
  for (uint32_t i = 0; i < kUpdatesPerTransaction; i++) {
    bool used = i < updates.size();
    Be16(b + 0x024 + 2 * i, used ? updates[i].first : 0xFFFF);
    Be32(b + 0x0A4 + 4 * i, used ? updates[i].second : kFree);
  }
  for (uint32_t i = 0; i < kContextPerTransaction; i++) {
    uint32_t slot = context_start + i;
    Be32(b + 0x1A4 + 4 * i, slot < slots.size() ? slots[slot] : kFree);
  }
  Be32(b + 0x008, Crc(b, 4096));
}

ActivityLog::ActivityLog(uint32_t al_extents, uint64_t al_offset_bytes, BlockWriter write, EvictHook evict)
    : al_offset_(al_offset_bytes), write_(std::move(write)), evict_(std::move(evict)) {
  if (al_extents > kMaxExtents) al_extents = kMaxExtents;
  if (al_extents < 1) al_extents = 1;
  slots_.resize(al_extents);
  for (uint32_t i = 0; i < al_extents; i++) {
    lru_.push_back(i);
    slots_[i].lru = std::prev(lru_.end());
  }
}

int ActivityLog::WriteTransactionLocked(const std::vector<std::pair<uint16_t, uint32_t>>& updates) {
  std::vector<uint32_t> extents(slots_.size());
  for (size_t i = 0; i < slots_.size(); i++) extents[i] = slots_[i].extent;
  uint8_t block[4096];
  EncodeTransaction(block, tr_number_, 0, updates, static_cast<uint16_t>(slots_.size()),
                    static_cast<uint16_t>(context_start_), extents);
  uint64_t off = al_offset_ + static_cast<uint64_t>(tr_number_ % kBlocks) * 4096;
  int err = write_(off, block);
  if (err) return err;
  tr_number_++;
  // The context window rotates so that the last ceil(al-extents / 919) transactions together
  // describe the whole set.
  context_start_ += kContextPerTransaction;
  if (context_start_ >= slots_.size()) context_start_ = 0;
  transactions_++;
  return 0;
}

int ActivityLog::BeginIo(uint64_t offset, uint64_t len) {
  if (len == 0) return 0;
  uint32_t first = static_cast<uint32_t>(offset >> kExtentShift);
  uint32_t last = static_cast<uint32_t>((offset + len - 1) >> kExtentShift);
  std::unique_lock<std::mutex> l(mu_);
  std::vector<std::pair<uint16_t, uint32_t>> updates;
  std::vector<uint32_t> taken;
  for (uint32_t ext = first; ext <= last; ext++) {
    auto it = by_extent_.find(ext);
    if (it != by_extent_.end()) {
      Slot& s = slots_[it->second];
      s.refs++;
      lru_.splice(lru_.begin(), lru_, s.lru);
      taken.push_back(it->second);
      continue;
    }
    // Cold extent: take the least recently used idle slot; wait if every slot is busy.
    uint32_t victim = kFree;
    cv_.wait(l, [&] {
      for (auto r = lru_.rbegin(); r != lru_.rend(); ++r) {
        if (slots_[*r].refs == 0) {
          victim = *r;
          return true;
        }
      }
      return false;
    });
    Slot& s = slots_[victim];
    if (s.extent != kFree) {
      if (evict_) evict_(s.extent);
      by_extent_.erase(s.extent);
    }
    s.extent = ext;
    s.refs = 1;
    by_extent_[ext] = victim;
    lru_.splice(lru_.begin(), lru_, s.lru);
    taken.push_back(victim);
    updates.emplace_back(static_cast<uint16_t>(victim), ext);
  }
  if (updates.empty() || suspended_) return 0;
  for (size_t i = 0; i < updates.size(); i += kUpdatesPerTransaction) {
    std::vector<std::pair<uint16_t, uint32_t>> chunk(updates.begin() + i,
                                                     updates.begin() + std::min(updates.size(), i + kUpdatesPerTransaction));
    int err = WriteTransactionLocked(chunk);
    if (err) {
      for (uint32_t slot : taken) slots_[slot].refs--;
      cv_.notify_all();
      return err;
    }
  }
  return 0;
}

void ActivityLog::EndIo(uint64_t offset, uint64_t len) {
  if (len == 0) return;
  uint32_t first = static_cast<uint32_t>(offset >> kExtentShift);
  uint32_t last = static_cast<uint32_t>((offset + len - 1) >> kExtentShift);
  {
    std::lock_guard<std::mutex> l(mu_);
    for (uint32_t ext = first; ext <= last; ext++) {
      auto it = by_extent_.find(ext);
      if (it != by_extent_.end() && slots_[it->second].refs > 0) slots_[it->second].refs--;
    }
  }
  cv_.notify_all();
}

void ActivityLog::SetSuspended(bool s) {
  std::lock_guard<std::mutex> l(mu_);
  suspended_ = s;
}

bool ActivityLog::suspended() const {
  std::lock_guard<std::mutex> l(mu_);
  return suspended_;
}

uint64_t ActivityLog::transactions() const {
  std::lock_guard<std::mutex> l(mu_);
  return transactions_;
}

std::vector<uint32_t> ActivityLog::ActiveExtents() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<uint32_t> out;
  for (const auto& s : slots_)
    if (s.extent != kFree) out.push_back(s.extent);
  return out;
}

}  // namespace udrbd
