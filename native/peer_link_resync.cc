// The peer link's share of the resync (spec/wire-protocol-84.md §8.6, §9, §10): bitmap
// exchange, resync requests and replies, and reads served by the peer. The bookkeeping lives
// in Resync (resync.h); this file moves the packets.
#include <cstring>

#include "bitmap.h"
#include "digest.h"
#include "peer_link.h"
#include "wire.h"

namespace udrbd {

namespace w = wire;

namespace {

uint64_t WireBits(uint64_t device_bytes) { return (device_bytes + Bitmap::kBlockBytes - 1) / Bitmap::kBlockBytes; }

}  // namespace

// ---------------------------------------------------------------- bitmap exchange

bool PeerLink::SendBitmap(bool use_rle) {
  if (!connected_ || failed_) return false;
  const uint64_t gen = conn_gen_;
  Post([this, gen, use_rle] {
    if (gen != conn_gen_ || !connected_) return;
    // The bitmap as of now, in order with what was queued before: bits set by writes that
    // are still waiting for the peer are the same on both sides of that moment.
    const uint64_t nbits = WireBits(host_->SizeBytes());
    std::vector<uint64_t> words(w::BitmapWords(nbits));
    host_->OutOfSync().copy_words(words.data(), words.size());
    w::BitmapEncoder enc(words.data(), nbits, use_rle);
    uint64_t packets[2] = {0, 0}, bytes[2] = {0, 0};  // plain, RLE
    // The receiver expects the transfer's packets back to back: hold the socket throughout.
    std::lock_guard<std::mutex> sl(data_send_mu_);
    while (!enc.Done()) {
      w::BitmapPacket pk = enc.Next();
      if (!SendLocked(data_, pk.command, pk.payload.data(), pk.payload.size(), nullptr, 0)) return;
      const int k = pk.command == w::P_COMPRESSED_BITMAP ? 1 : 0;
      packets[k]++;
      bytes[k] += pk.payload.size();
    }
    Log(20, "send bitmap [bytes(packets)]: plain " + std::to_string(bytes[0]) + "(" + std::to_string(packets[0]) + "), RLE " +
                std::to_string(bytes[1]) + "(" + std::to_string(packets[1]) + ")");
  });
  return true;
}

void PeerLink::ReceiveBitmap(uint16_t cmd, uint32_t length) {
  std::vector<uint8_t> payload(length);
  if (!RecvData(payload.data(), length)) return;
  const uint64_t nbits = WireBits(host_->SizeBytes());
  if (!bitmap_rx_) bitmap_rx_ = std::make_unique<w::BitmapDecoder>(nbits);
  bool complete;
  try {
    complete = bitmap_rx_->Receive(cmd, payload.data(), payload.size());
  } catch (const w::WireError& e) {
    bitmap_rx_.reset();
    ProtocolError(e.what());
    return;
  }
  if (!complete) return;
  const std::vector<uint64_t>& words = bitmap_rx_->words();
  uint64_t added = host_->OutOfSync().merge_words(words.data(), words.size());
  bitmap_rx_.reset();
  const uint64_t now_set = host_->OutOfSync().count();
  Log(20, "receive bitmap: " + std::to_string(added) + " bits newly set, " + std::to_string(now_set) + " set");
  events_->OnBitmapReceived(now_set);
}

// ---------------------------------------------------------------- resync

void PeerLink::StartResync(ResyncRole role, uint32_t max_bio_size, const std::string& csums_alg) {
  {
    std::lock_guard<std::mutex> l(csums_mu_);
    csums_alg_ = csums_alg;
  }
  resync_->Start(role, max_bio_size);
  max_bio_ = max_bio_size >= 4096 && max_bio_size <= w::kMaxBioSize ? max_bio_size - max_bio_size % 512 : w::kMaxBioSize;
  MaybeResyncDone();  // an empty resync is done at once
}

void PeerLink::StopResync() { resync_->Stop(); }

ResyncStatus PeerLink::ResyncStatusTake() { return resync_->Status(true); }

uint32_t PeerLink::ResyncTick(uint32_t n_blocks) {
  if (!connected_ || failed_) return 0;
  // Stop generating while the data socket's send queue is more than half full: the requests
  // would only wait there, and the controller measures what arrives.
  int queued = 0, limit = 0;
  {
    std::lock_guard<std::mutex> l(sock_mu_);
    if (!data_.valid()) return 0;
    queued = data_.SendQueueBytes();
    limit = data_.SendBufferBytes() / 2;
  }
  size_t planned = 0;
  auto room = [&] {
    return static_cast<uint64_t>(queued) + planned++ * (w::kH100Size + w::kPBlockReqSize) <= static_cast<uint64_t>(limit);
  };
  std::vector<ResyncRequest> reqs = resync_->Plan(n_blocks, room);
  const uint32_t n = static_cast<uint32_t>(reqs.size());
  if (!reqs.empty()) {
    pe_ += static_cast<int64_t>(reqs.size());
    SendResyncRequests(conn_gen_, std::move(reqs));
  }
  MaybeResyncDone();
  return n;
}

void PeerLink::SendResyncRequests(uint64_t gen, std::vector<ResyncRequest> reqs) {
  std::string alg;
  {
    std::lock_guard<std::mutex> l(csums_mu_);
    alg = csums_alg_;
  }
  if (alg.empty()) {
    Post([this, gen, reqs = std::move(reqs)] {
      if (gen != conn_gen_) return;  // teardown forgot them
      for (const ResyncRequest& r : reqs) {
        w::PBlockReq br;
        br.sector = r.sector;
        br.block_id = w::kIdSyncer;
        br.blksize = r.size;
        uint8_t p[w::kPBlockReqSize];
        w::Encode(br, p);
        if (!SendData(w::P_RS_DATA_REQUEST, p, sizeof(p))) return;
      }
    });
    return;
  }
  // csums-alg: read our own copy first; the request carries its digest.
  for (const ResyncRequest& r : reqs) {
    HostOpBegin();
    host_->PeerRead(r.sector << 9, r.size, [this, gen, r, alg](int err, DataBuffer data) {
      std::vector<uint8_t> p(w::kPBlockReqSize);
      w::PBlockReq br;
      br.sector = r.sector;
      br.block_id = w::kIdSyncer;
      br.blksize = r.size;
      w::Encode(br, p.data());
      uint16_t cmd = w::P_RS_DATA_REQUEST;
      if (!err) {
        // A digest that cannot be made (unknown algorithm) just asks for the data.
        try {
          std::vector<uint8_t> d = Digest(alg, data.data(), data.size());
          p.insert(p.end(), d.begin(), d.end());
          cmd = w::P_CSUM_RS_REQUEST;
        } catch (const std::exception& e) {
          Log(40, std::string("csums-alg: ") + e.what());
        }
      }
      Post([this, gen, cmd, p = std::move(p)] {
        if (gen == conn_gen_) SendData(cmd, p.data(), p.size());
      });
      HostOpEnd();
    });
  }
}

void PeerLink::ReceiveCsumRequest(uint32_t length) {
  std::vector<uint8_t> p(length);
  if (!RecvData(p.data(), length)) return;
  const w::PBlockReq br = w::DecodePBlockReq(p.data(), p.size());
  std::string alg;
  {
    std::lock_guard<std::mutex> l(csums_mu_);
    alg = csums_alg_;
  }
  size_t dsize = 0;
  try {
    dsize = alg.empty() ? 0 : DigestSize(alg);
  } catch (const std::exception&) {
    dsize = 0;
  }
  const uint64_t size_bytes = host_->SizeBytes();
  if (dsize == 0 || length != w::kPBlockReqSize + dsize || (br.sector >> 55) != 0 || br.blksize == 0 ||
      br.blksize % 512 != 0 || br.blksize > w::kMaxBioSize || (br.sector << 9) + br.blksize > size_bytes) {
    ProtocolError("Unexpected data packet P_CSUM_RS_REQUEST (csums-alg \"" + alg + "\", " + std::to_string(length) +
                  " bytes, sector " + std::to_string(br.sector) + ")");
    return;
  }
  std::vector<uint8_t> theirs(p.begin() + w::kPBlockReqSize, p.end());
  ua_++;
  HostOpBegin();
  host_->PeerRead(br.sector << 9, br.blksize, [this, br, alg, theirs](int err, DataBuffer d) {
    uint8_t sr[8];
    w::PutBE64(sr, br.sector);
    if (err) {
      SendBlockAck(w::P_NEG_RS_DREPLY, sr, reinterpret_cast<const uint8_t*>(&br.block_id), br.blksize);
    } else if (Digest(alg, d.data(), d.size()) == theirs) {
      // Equal: both sides clear the bits, no data travels.
      host_->OutOfSync().clear_range(br.sector << 9, br.blksize);
      SendBlockAck(w::P_RS_IS_IN_SYNC, sr, reinterpret_cast<const uint8_t*>(&br.block_id), br.blksize);
    } else {
      w::PData reply;
      reply.sector = br.sector;
      reply.block_id = br.block_id;
      uint8_t p[w::kPDataSize];
      w::Encode(reply, p);
      SendData(w::P_RS_DATA_REPLY, p, sizeof(p), d.data(), d.size());
      ns_bytes_ += d.size();
    }
    ua_--;
    HostOpEnd();
  });
}

void PeerLink::MaybeResyncDone() {
  uint64_t failed;
  if (resync_->TakeDone(&failed)) events_->OnResyncDone(failed);
}

void PeerLink::ReceiveRsDataReply(uint32_t length) {
  uint8_t p[w::kPDataSize];
  if (!RecvData(p, sizeof(p))) return;
  const w::PData d = w::DecodePData(p, sizeof(p));
  const uint32_t size = length - static_cast<uint32_t>(w::kPDataSize);
  std::vector<ResyncRequest> writes;
  if (d.block_id != w::kIdSyncer || !resync_->ReplyArrived(d.sector, size, &writes)) {
    ProtocolError("P_RS_DATA_REPLY for sector " + std::to_string(d.sector) + " size " + std::to_string(size) +
                  " answers no resync request");
    return;
  }
  pe_--;
  DataBuffer data(size);
  if (!RecvData(data.data(), size)) return;  // teardown forgets the request
  nr_bytes_ += size;
  ua_++;
  HostOpBegin();
  const uint64_t sector = d.sector;
  // One local write per part (several only when peer writes superseded some blocks); the
  // last one to finish clears the bits and acknowledges the whole request.
  struct Pending {
    std::atomic<size_t> left;
    std::atomic<bool> ok{true};
  };
  auto pending = std::make_shared<Pending>();
  pending->left = writes.size();
  auto finish = [this, sector, size, writes, pending] {
    const bool ok = pending->ok;
    resync_->ReplyWritten(sector, size, writes, ok);
    uint8_t sr[8];
    w::PutBE64(sr, sector);
    const uint64_t id = w::kIdSyncer;
    SendBlockAck(ok ? w::P_RS_WRITE_ACK : w::P_NEG_ACK, sr, reinterpret_cast<const uint8_t*>(&id), size);
    ua_--;
    MaybeResyncDone();
    HostOpEnd();
  };
  if (writes.empty()) {
    finish();
    return;
  }
  for (const ResyncRequest& part : writes) {
    const uint64_t off = (part.sector - sector) << 9;
    DataBuffer buf = writes.size() == 1 ? std::move(data)
                                        : DataBuffer(data.begin() + static_cast<long>(off),
                                                                         data.begin() + static_cast<long>(off + part.size));
    host_->PeerWrite(part.sector << 9, std::move(buf), false, false, [pending, finish](int err) {
      if (err) pending->ok = false;
      if (--pending->left == 0) finish();
    });
  }
}

void PeerLink::OnRefusal(uint16_t cmd, const uint8_t* payload) {
  const uint64_t sector = w::GetBE64(payload);
  uint64_t id;
  std::memcpy(&id, payload + 8, 8);
  const uint32_t size = w::GetBE32(payload + 16);
  if (cmd == w::P_NEG_DREPLY) {
    std::shared_ptr<RemoteRead> rr;
    {
      std::lock_guard<std::mutex> l(tl_mu_);
      auto it = reads_.find(id);
      if (it != reads_.end() && it->second.sent) {
        rr = it->second.read;
        reads_.erase(it);
      }
    }
    if (!rr) {
      ProtocolError("P_NEG_DREPLY for unknown block_id");
      return;
    }
    pe_--;
    Log(40, "remote read failed at sector " + std::to_string(sector));
    ReadPartDone(rr, false);
    return;
  }
  const bool known = cmd == w::P_RS_IS_IN_SYNC ? resync_->InSync(sector, size)
                                                : id == w::kIdSyncer && resync_->Refused(sector, size, cmd == w::P_NEG_RS_DREPLY);
  if (!known) {
    ProtocolError(std::string(w::CommandName(cmd)) + " for sector " + std::to_string(sector) +
                  " answers no resync request");
    return;
  }
  pe_--;
  if (cmd == w::P_NEG_RS_DREPLY) Log(40, "resync read failed at the peer: sector " + std::to_string(sector) + " size " + std::to_string(size));
  MaybeResyncDone();
}

// ---------------------------------------------------------------- reads served by the peer

bool PeerLink::submit_read(Request& req) {
  if (req.len == 0) return false;
  auto rr = std::make_shared<RemoteRead>();
  rr->req = &req;
  const uint32_t chunk = max_bio_;
  std::vector<uint64_t> ids;
  {
    std::lock_guard<std::mutex> l(tl_mu_);
    if (!connected_ || failed_) return false;
    const uint64_t parts = (req.len + chunk - 1) / chunk;
    rr->parts = static_cast<int>(parts);
    for (uint64_t i = 0; i < parts; i++) {
      const uint64_t off = i * chunk;
      const uint64_t id = next_block_id_++;
      const uint32_t len = static_cast<uint32_t>(req.len - off < chunk ? req.len - off : chunk);
      reads_.emplace(id, ReadPart{rr, req.offset + off, len, req.data + off});
      ids.push_back(id);
    }
  }
  pe_ += static_cast<int64_t>(ids.size());
  for (uint64_t id : ids) Post([this, id] { SendRemoteRead(id); });
  return true;
}

void PeerLink::SendRemoteRead(uint64_t id) {
  w::PBlockReq br;
  {
    std::lock_guard<std::mutex> l(tl_mu_);
    auto it = reads_.find(id);
    if (it == reads_.end()) return;  // the connection was lost: teardown failed it
    it->second.sent = true;
    br.sector = it->second.offset >> 9;
    br.block_id = id;  // our handle, echoed raw
    br.blksize = it->second.len;
  }
  uint8_t p[w::kPBlockReqSize];
  w::Encode(br, p);
  SendData(w::P_DATA_REQUEST, p, sizeof(p));
}

void PeerLink::ReadPartDone(const std::shared_ptr<RemoteRead>& rr, bool ok) {
  if (!ok) rr->ok = false;
  if (--rr->parts == 0) host_->NetDone(rr->req, rr->ok);
}

void PeerLink::ReceiveDataReply(uint32_t length) {
  uint8_t p[w::kPDataSize];
  if (!RecvData(p, sizeof(p))) return;
  const w::PData d = w::DecodePData(p, sizeof(p));
  const uint32_t size = length - static_cast<uint32_t>(w::kPDataSize);
  ReadPart part;
  {
    std::lock_guard<std::mutex> l(tl_mu_);
    auto it = reads_.find(d.block_id);
    if (it == reads_.end() || !it->second.sent || it->second.offset != (d.sector << 9) || it->second.len != size) {
      part.read = nullptr;
    } else {
      part = it->second;
      reads_.erase(it);
    }
  }
  if (!part.read) {
    ProtocolError("P_DATA_REPLY for sector " + std::to_string(d.sector) + " answers no read request");
    return;
  }
  pe_--;
  // Straight into the application's buffer; the request stays alive until NetDone.
  const bool ok = RecvData(part.dest, size);
  if (ok) nr_bytes_ += size;
  ReadPartDone(part.read, ok);
}

void PeerLink::ResyncTeardown() {
  pe_ -= static_cast<int64_t>(resync_->Teardown());
  std::vector<std::shared_ptr<RemoteRead>> failed;
  {
    std::lock_guard<std::mutex> l(tl_mu_);
    for (auto& [id, part] : reads_) {
      (void)id;
      failed.push_back(part.read);
    }
    reads_.clear();
  }
  pe_ -= static_cast<int64_t>(failed.size());
  for (auto& rr : failed) ReadPartDone(rr, false);
}

}  // namespace udrbd
