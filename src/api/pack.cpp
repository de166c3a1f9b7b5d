#include "api/pack.h"

#include <charconv>

namespace converge {

namespace {
// "chunklist <64 hex> <20 digits>": a header line is never longer.
constexpr size_t kMaxLine = 128;
}  // namespace

std::string PackObjectHeader(ObjectKind kind, const ObjectId& id, uint64_t size) {
  return std::string(KindName(kind)) + " " + id.hex() + " " + std::to_string(size) + "\n";
}

Status WritePackObject(const ObjectStore& store, ObjectKind kind, const ObjectId& id, uint64_t size,
                       const std::function<Status(std::string_view)>& sink) {
  RETURN_IF_ERROR(sink(PackObjectHeader(kind, id, size)));
  uint64_t sent = 0;
  RETURN_IF_ERROR(store.Stream(id, [&](std::string_view piece) -> Status {
    sent += piece.size();
    if (sent > size) return Corrupt("object " + id.hex() + " is larger on disk than recorded");
    return sink(piece);
  }));
  if (sent != size) return Corrupt("object " + id.hex() + " is shorter on disk than recorded");
  return Status::Ok();
}

Status PackParser::ParseHeader(const std::string& line) {
  if (line == "end") {
    state_ = State::kDone;
    return Status::Ok();
  }
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) return Invalid("malformed pack object header");
  auto kind = KindFromName(std::string_view(line).substr(0, sp1));
  auto id = ObjectId::FromHex(std::string_view(line).substr(sp1 + 1, sp2 - sp1 - 1));
  std::string_view size_text = std::string_view(line).substr(sp2 + 1);
  uint64_t size = 0;
  auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
  if (!kind || !id || ec != std::errc() || end != size_text.data() + size_text.size() ||
      size_text.empty() || (size_text.size() > 1 && size_text[0] == '0'))
    return Invalid("malformed pack object header");
  if (size > limits_.max_object_size)
    return TooLarge("object " + id->hex() + " is " + std::to_string(size) +
                    " bytes, over the limit of " + std::to_string(limits_.max_object_size));
  if (++objects_ > limits_.max_objects)
    return TooLarge("pack holds more than " + std::to_string(limits_.max_objects) + " objects");
  RETURN_IF_ERROR(handler_.Begin(*kind, *id, size));
  remaining_ = size;
  state_ = State::kBody;
  if (size == 0) {
    RETURN_IF_ERROR(handler_.End());
    state_ = State::kHeader;
  }
  return Status::Ok();
}

Status PackParser::Feed(std::string_view data) {
  while (!data.empty()) {
    switch (state_) {
      case State::kDone:
        return Invalid("data after the end of the pack");
      case State::kMagic: {
        size_t take = std::min(data.size(), kPackMagic.size() - line_.size());
        line_.append(data.substr(0, take));
        data.remove_prefix(take);
        if (kPackMagic.substr(0, line_.size()) != line_)
          return Invalid("not a converge pack (bad magic)");
        if (line_.size() == kPackMagic.size()) {
          line_.clear();
          state_ = State::kHeader;
        }
        break;
      }
      case State::kHeader: {
        size_t nl = data.find('\n');
        size_t take = nl == std::string_view::npos ? data.size() : nl;
        if (line_.size() + take > kMaxLine) return Invalid("pack object header too long");
        line_.append(data.substr(0, take));
        if (nl == std::string_view::npos) return Status::Ok();
        data.remove_prefix(nl + 1);
        std::string line = std::move(line_);
        line_.clear();
        RETURN_IF_ERROR(ParseHeader(line));
        break;
      }
      case State::kBody: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
        RETURN_IF_ERROR(handler_.Data(data.substr(0, take)));
        data.remove_prefix(take);
        remaining_ -= take;
        if (remaining_ == 0) {
          RETURN_IF_ERROR(handler_.End());
          state_ = State::kHeader;
        }
        break;
      }
    }
  }
  return Status::Ok();
}

Status PackParser::Finish() const {
  if (state_ != State::kDone)
    return Invalid("the pack is truncated: it ended before its \"end\" line");
  return Status::Ok();
}

}  // namespace converge
