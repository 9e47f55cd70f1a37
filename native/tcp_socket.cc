#include "tcp_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace udrbd {

SockAddr SockAddr::Parse(const std::string& ip, uint16_t port) {
  SockAddr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len = sizeof(sockaddr_in);
    a.text = "ipv4:" + ip + ":" + std::to_string(port);
  } else if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len = sizeof(sockaddr_in6);
    a.text = "ipv6:[" + ip + "]:" + std::to_string(port);
  } else {
    throw std::invalid_argument("not a numeric IP address: " + ip);
  }
  return a;
}

TcpSocket& TcpSocket::operator=(TcpSocket&& o) noexcept {
  if (this != &o) {
    Close();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void TcpSocket::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void TcpSocket::Shutdown() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

static bool WaitFd(int fd, short events, int timeout_ms, short* revents) {
  pollfd p{fd, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    *revents = p.revents;
    return true;
  }
}

TcpSocket TcpSocket::Connect(const SockAddr& peer, const SockAddr& local, int timeout_ms, int* err) {
  *err = 0;
  int fd = ::socket(peer.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *err = errno;
    return TcpSocket();
  }
  TcpSocket s(fd);
  // Bind to our configured address (port 0): the peer matches connections by source address.
  SockAddr src = local;
  if (src.ss.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&src.ss)->sin_port = 0;
  else reinterpret_cast<sockaddr_in6*>(&src.ss)->sin6_port = 0;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&src.ss), src.len) != 0) {
    *err = errno;
    return TcpSocket();
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&peer.ss), peer.len) != 0) {
    if (errno != EINPROGRESS) {
      *err = errno;
      return TcpSocket();
    }
    short rev = 0;
    if (!WaitFd(fd, POLLOUT, timeout_ms, &rev)) {
      *err = ETIMEDOUT;
      return TcpSocket();
    }
    int soerr = 0;
    socklen_t l = sizeof(soerr);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l);
    if (soerr != 0) {
      *err = soerr;
      return TcpSocket();
    }
  }
  return s;
}

IoResult TcpSocket::RecvExact(void* buf, size_t len, int timeout_ms) {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = ::recv(fd_, p, len, MSG_DONTWAIT);
    if (n > 0) {
      p += n;
      len -= static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return IoResult::kClosed;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return IoResult::kError;
    short rev = 0;
    if (!WaitFd(fd_, POLLIN, timeout_ms, &rev)) return IoResult::kTimeout;
    if ((rev & (POLLERR | POLLNVAL)) && !(rev & POLLIN)) return IoResult::kError;
  }
  return IoResult::kOk;
}

IoResult TcpSocket::SendV(const struct iovec* iov_in, int iovcnt, int timeout_ms,
                          const std::function<bool()>& on_timeout) {
  std::vector<iovec> iov(iov_in, iov_in + iovcnt);
  size_t idx = 0;
  while (idx < iov.size()) {
    msghdr msg{};
    msg.msg_iov = &iov[idx];
    msg.msg_iovlen = iov.size() - idx;
    ssize_t n = ::sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return errno == EPIPE ? IoResult::kClosed : IoResult::kError;
      short rev = 0;
      if (!WaitFd(fd_, POLLOUT, timeout_ms, &rev)) {
        if (on_timeout && on_timeout()) continue;
        return IoResult::kTimeout;
      }
      if (rev & (POLLERR | POLLHUP | POLLNVAL)) return IoResult::kClosed;
      continue;
    }
    size_t left = static_cast<size_t>(n);
    while (idx < iov.size() && left >= iov[idx].iov_len) {
      left -= iov[idx].iov_len;
      idx++;
    }
    if (idx < iov.size()) {
      iov[idx].iov_base = static_cast<char*>(iov[idx].iov_base) + left;
      iov[idx].iov_len -= left;
    }
  }
  return IoResult::kOk;
}

IoResult TcpSocket::SendAll(const void* buf, size_t len, int timeout_ms) {
  iovec v{const_cast<void*>(buf), len};
  return SendV(&v, 1, timeout_ms);
}

bool TcpSocket::WaitReadable(int timeout_ms) {
  short rev = 0;
  return WaitFd(fd_, POLLIN, timeout_ms, &rev);
}

bool TcpSocket::StillOpen() {
  char c;
  ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return true;
  if (n == 0) return false;
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

int TcpSocket::SendQueueBytes() const {
  int q = 0;
  if (::ioctl(fd_, SIOCOUTQ, &q) != 0) return 0;
  return q;
}

int TcpSocket::SendBufferBytes() const {
  int v = 0;
  socklen_t len = sizeof(v);
  if (::getsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &v, &len) != 0) return 0;
  return v;
}

void TcpSocket::SetNoDelay() {
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void TcpSocket::SetBufferSizes(int sndbuf, int rcvbuf) {
  // 0 means "let the kernel auto-tune", as drbd.conf's sndbuf-size/rcvbuf-size 0.
  if (sndbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
}

void TcpListener::Listen(const SockAddr& local) {
  Close();
  fd_ = ::socket(local.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&local.ss), local.len) != 0 || ::listen(fd_, 5) != 0) {
    std::string e = std::strerror(errno);
    Close();
    throw std::runtime_error("cannot listen on " + local.text + ": " + e);
  }
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    Close();
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
}

TcpSocket TcpListener::Accept(int timeout_ms) {
  if (fd_ < 0) return TcpSocket();
  pollfd p[2] = {{fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
  int r;
  do r = ::poll(p, 2, timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r <= 0 || (p[1].revents & POLLIN)) return TcpSocket();
  int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  return fd >= 0 ? TcpSocket(fd) : TcpSocket();
}

void TcpListener::Wake() {
  if (wake_pipe_[1] >= 0) {
    char c = 1;
    ssize_t ignored = ::write(wake_pipe_[1], &c, 1);
    (void)ignored;
  }
}

void TcpListener::Close() {
  if (fd_ >= 0) ::close(fd_);
  for (int& f : wake_pipe_) {
    if (f >= 0) ::close(f);
    f = -1;
  }
  fd_ = -1;
}

}  // namespace udrbd
