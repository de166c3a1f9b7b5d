#include "net/pager.h"

#include "base/text.h"

namespace converge {

namespace {

std::string Count(uint64_t n) {
  return std::to_string(n);
}

}  // namespace

Pager::Pager(const HttpClient& http, std::string what, Limits limits)
    : http_(http), what_(std::move(what)), limits_(limits), first_bytes_(http.answer_bytes()) {}

Status Pager::Restart(std::string first) {
  if (pages_ >= limits_.pages) return TooManyPages();
  seen_.clear();
  if (!first.empty()) seen_.insert(first);
  cursor_ = std::move(first);
  return Status::Ok();
}

Status Pager::TooMany(const std::string& what) const {
  return TooLarge(what_ + " " + what +
                  ": converge stops there rather than page without end (narrow what you ask "
                  "for, or tell the server's operator)");
}

Status Pager::TooManyPages() const {
  return TooMany("runs past " + Count(limits_.pages) + " pages");
}

Status Pager::Tally(size_t items) {
  pages_++;
  items_ += items;
  if (items_ > limits_.items) return TooMany("holds more than " + Count(limits_.items) + " items");
  if (http_.answer_bytes() - first_bytes_ > limits_.bytes)
    return TooMany("is larger than " + Count(limits_.bytes >> 20) + " MiB");
  return Status::Ok();
}

Status Pager::AdvanceLast(size_t items) {
  return Tally(items);
}

Result<bool> Pager::Advance(size_t items, const std::optional<std::string>& next) {
  RETURN_IF_ERROR(Tally(items));
  if (!next || items == 0) return false;
  if (pages_ >= limits_.pages) return TooManyPages();
  if (next->size() > kMaxCursorBytes)
    return Corrupt(what_ + ": the server sent a cursor of " + Count(next->size()) +
                   " bytes, more than the " + Count(kMaxCursorBytes) +
                   " any converge server sends; refusing it (tell the server's operator)");
  // "" is where the listing started; any cursor seen before starts a loop.
  if (next->empty() || !seen_.insert(*next).second)
    return Corrupt(what_ + " does not advance: the server sent cursor " + Quote(*next) +
                   " again (after " + Count(pages_) +
                   " pages), which would page forever; refusing it (tell the server's operator)");
  cursor_ = *next;
  return true;
}

}  // namespace converge
