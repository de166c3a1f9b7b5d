#include "net/http_server_conns.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace converge {

std::string AddressKey(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    return text;
  }
  if (addr.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      in_addr v4;
      std::memcpy(&v4, a.s6_addr + 12, sizeof v4);
      ::inet_ntop(AF_INET, &v4, text, sizeof text);
      return text;
    }
    in6_addr prefix{};
    std::memcpy(prefix.s6_addr, a.s6_addr, 8);
    ::inet_ntop(AF_INET6, &prefix, text, sizeof text);
    return std::string(text) + "/64";
  }
  return "unknown";
}

ConnTable::Slot::~Slot() {
  table_->Release(this);
}

void ConnTable::Slot::Enter(State state) {
  table_->Enter(this, state);
}

std::unique_ptr<ConnTable::Slot> ConnTable::Admit(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_key_.find(key);
  if (per_address_ > 0 && it != by_key_.end() && it->second >= per_address_) return nullptr;
  by_key_[key]++;
  std::unique_ptr<Slot> slot(new Slot(this, key));
  slot->since_ = std::chrono::steady_clock::now();
  slots_.insert(slot.get());
  return slot;
}

void ConnTable::Release(Slot* slot) {
  std::lock_guard<std::mutex> lock(mu_);
  slots_.erase(slot);
  if (slot->shed_) shedding_--;
  auto it = by_key_.find(slot->key_);
  if (it != by_key_.end() && --it->second == 0) by_key_.erase(it);
}

void ConnTable::Enter(Slot* slot, State state) {
  std::lock_guard<std::mutex> lock(mu_);
  slot->state_ = state;
  slot->since_ = std::chrono::steady_clock::now();
  // A request whose head is complete is served; someone else goes instead.
  if (state == State::kBusy && slot->shed_) {
    slot->shed_ = false;
    shedding_--;
  }
  ShedLocked();
}

void ConnTable::SetBacklog(size_t waiting) {
  std::lock_guard<std::mutex> lock(mu_);
  backlog_ = waiting;
  ShedLocked();
}

void ConnTable::ShedLocked() {
  if (shedding_ >= backlog_) return;
  std::vector<Slot*> idle;
  for (Slot* s : slots_)
    if (!s->shed_ && s->state_ != State::kBusy) idle.push_back(s);
  // A partial head before an idle connection (which leaves within the
  // keep-alive timeout anyway), then the oldest first.
  auto first = [](const Slot* a, const Slot* b) {
    bool ah = a->state_ == State::kHead, bh = b->state_ == State::kHead;
    return ah != bh ? ah : a->since_ < b->since_;
  };
  size_t n = std::min(backlog_ - shedding_, idle.size());
  std::partial_sort(idle.begin(), idle.begin() + static_cast<ptrdiff_t>(n), idle.end(), first);
  for (size_t i = 0; i < n; i++) idle[i]->shed_ = true;
  shedding_ += n;
}

size_t ConnTable::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slots_.size();
}

size_t ConnTable::open_from(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_key_.find(key);
  return it == by_key_.end() ? 0 : it->second;
}

size_t ConnTable::shedding() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shedding_;
}

}  // namespace converge
