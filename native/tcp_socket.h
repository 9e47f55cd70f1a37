// A TCP socket with the deadline-based I/O the DRBD link needs: every receive and send has a
// timeout (ping-timeout during the handshake, `timeout` for sends, ping-int idle on meta).
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace udrbd {

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  std::string text;  // "ipv4:1.2.3.4:7788" style, for log lines

  // Parses a numeric IPv4 or IPv6 address; throws std::invalid_argument.
  static SockAddr Parse(const std::string& ip, uint16_t port);
};

enum class IoResult { kOk, kTimeout, kClosed, kError };

class TcpSocket {
 public:
  TcpSocket() = default;
  explicit TcpSocket(int fd) : fd_(fd) {}
  ~TcpSocket() { Close(); }
  TcpSocket(TcpSocket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  TcpSocket& operator=(TcpSocket&& o) noexcept;
  TcpSocket(const TcpSocket&) = delete;
  TcpSocket& operator=(const TcpSocket&) = delete;

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void Close();
  // Wakes any thread blocked in Recv/Send on this socket (they return kClosed) without
  // releasing the descriptor, so another thread never races a reused fd number.
  void Shutdown();

  // Non-blocking connect bounded by timeout_ms; from `local` (port 0) so the peer sees
  // our configured address as the source.
  static TcpSocket Connect(const SockAddr& peer, const SockAddr& local, int timeout_ms, int* err);

  // Reads exactly len bytes; timeout_ms < 0 waits forever. The timeout bounds each wait
  // for more bytes, so a packet trickling in slowly still arrives whole.
  IoResult RecvExact(void* buf, size_t len, int timeout_ms);
  // Writes all bytes; each wait for buffer space is bounded by timeout_ms. On a timeout,
  // `on_timeout` (if given) decides whether to keep waiting — DRBD's ko-count — so a packet
  // is never abandoned half-written.
  IoResult SendAll(const void* buf, size_t len, int timeout_ms);
  IoResult SendV(const struct iovec* iov, int iovcnt, int timeout_ms,
                 const std::function<bool()>& on_timeout = nullptr);
  // Waits until data can be read (or the socket closed); false on timeout.
  bool WaitReadable(int timeout_ms);
  // True when the socket is still open (MSG_PEEK, non-blocking) — DRBD's sock-check.
  bool StillOpen();
  // Bytes queued in the kernel send buffer (SIOCOUTQ), for congestion reporting.
  int SendQueueBytes() const;
  // The kernel send buffer size (SO_SNDBUF).
  int SendBufferBytes() const;

  void SetNoDelay();
  void SetBufferSizes(int sndbuf, int rcvbuf);

 private:
  int fd_ = -1;
};

class TcpListener {
 public:
  ~TcpListener() { Close(); }
  // SO_REUSEADDR, backlog 5 (as DRBD); throws std::runtime_error with errno text.
  void Listen(const SockAddr& local);
  // Waits up to timeout_ms for a connection; invalid socket on timeout.
  TcpSocket Accept(int timeout_ms);
  void Close();
  void Wake();  // makes a blocked Accept return at once (used by disconnect)

 private:
  int fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
};

}  // namespace udrbd
