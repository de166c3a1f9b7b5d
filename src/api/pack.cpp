// PackParser (api/pack.h): both versions' framing, and a version 2 pack's
// zstd stream. What an object's encoding means is the handler's business
// (store/object_receiver.h decompresses and checks it).
#include "api/pack.h"

#include <charconv>

namespace converge {

namespace {
// "chunklist <64 hex> <20 digits>": a header line is never longer.
constexpr size_t kMaxLine = 128;
// Bytes decompressed from a pack's stream per step.
constexpr size_t kStreamPiece = 256 << 10;
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

PackParser::PackParser(Handler& handler, PackLimits limits) : handler_(handler), limits_(limits) {}
PackParser::~PackParser() = default;

Status PackParser::StartObject(const EncodedObject& o) {
  if (o.size > limits_.max_object_size)
    return TooLarge("object " + o.id.hex() + " is " + std::to_string(o.size) +
                    " bytes, over the limit of " + std::to_string(limits_.max_object_size));
  if (++objects_ > limits_.max_objects)
    return TooLarge("pack holds more than " + std::to_string(limits_.max_objects) + " objects");
  if (o.encoding == Encoding::kRaw) {
    RETURN_IF_ERROR(handler_.Begin(o.kind, o.id, o.size));
  } else {
    RETURN_IF_ERROR(handler_.BeginEncoded(o));
  }
  remaining_ = o.stored;
  state_ = State::kBody;
  if (remaining_ == 0) {
    RETURN_IF_ERROR(handler_.End());
    state_ = State::kHeader;
  }
  return Status::Ok();
}

Status PackParser::Body(std::string_view& data) {
  size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
  RETURN_IF_ERROR(handler_.Data(data.substr(0, take)));
  data.remove_prefix(take);
  remaining_ -= take;
  if (remaining_ == 0) {
    RETURN_IF_ERROR(handler_.End());
    state_ = State::kHeader;
  }
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
  return StartObject(EncodedObject{*kind, *id, size, Encoding::kRaw, size, ObjectId()});
}

Status PackParser::FeedV1(std::string_view data) {
  while (!data.empty()) {
    switch (state_) {
      case State::kDone:
        return Invalid("data after the end of the pack");
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
      case State::kBody:
        RETURN_IF_ERROR(Body(data));
        break;
      default:
        return Internal("pack parser in a wrong state");
    }
  }
  return Status::Ok();
}

Status PackParser::FeedV2(std::string_view data) {
  while (!data.empty()) {
    switch (state_) {
      case State::kDone:
        return Invalid("data after the end of the pack");
      case State::kHeader: {
        size_t had = line_.size();
        size_t take = std::min(data.size(), kMaxV2HeaderBytes - had);
        line_.append(data.substr(0, take));
        EncodedObject o;
        bool end = false;
        ASSIGN_OR_RETURN(size_t len, ParsePackObjectHeaderV2(line_, &o, &end));
        if (len == 0) {
          if (line_.size() == kMaxV2HeaderBytes) return Invalid("malformed pack object header");
          data.remove_prefix(take);
          break;
        }
        data.remove_prefix(len - had);
        line_.clear();
        if (end) {
          state_ = State::kDone;
          break;
        }
        RETURN_IF_ERROR(StartObject(o));
        break;
      }
      case State::kBody:
        RETURN_IF_ERROR(Body(data));
        break;
      default:
        return Internal("pack parser in a wrong state");
    }
  }
  return Status::Ok();
}

Status PackParser::FeedStream(std::string_view data) {
  size_t n = 0;
  do {
    n = 0;
    Status st = stream_->Feed(data, stream_out_.get(), kStreamPiece, &n);
    if (!st.ok()) {
      if (stream_->done()) return Invalid("data after the end of the pack's zstd stream");
      return Invalid("the pack's zstd stream is damaged: " + st.message());
    }
    RETURN_IF_ERROR(FeedV2(std::string_view(stream_out_.get(), n)));
  } while (!data.empty() || n == kStreamPiece);
  return Status::Ok();
}

Status PackParser::Feed(std::string_view data) {
  while (!data.empty()) {
    if (state_ == State::kMagic) {
      size_t take = std::min(data.size(), kPackMagic.size() - line_.size());
      line_.append(data.substr(0, take));
      data.remove_prefix(take);
      bool v1 = kPackMagic.substr(0, line_.size()) == line_;
      bool v2 = kPackMagicV2.substr(0, line_.size()) == line_;
      if (!v1 && !v2) return Invalid("not a converge pack (bad magic)");
      if (line_.size() == kPackMagic.size()) {
        line_.clear();
        version_ = v1 ? 1 : 2;
        state_ = v1 ? State::kHeader : State::kMode;
      }
      continue;
    }
    if (state_ == State::kMode) {
      unsigned char mode = static_cast<unsigned char>(data[0]);
      data.remove_prefix(1);
      if (mode > 1) return Invalid("unknown pack mode " + std::to_string(mode));
      if (mode == 1) {
        stream_ = std::make_unique<StreamDecompressor>(kPackStreamWindowLog);
        stream_out_ = std::make_unique_for_overwrite<char[]>(kStreamPiece);
      }
      state_ = State::kHeader;
      continue;
    }
    if (version_ == 1) return FeedV1(data);
    return stream_ ? FeedStream(data) : FeedV2(data);
  }
  return Status::Ok();
}

Status PackParser::Finish() const {
  if (state_ != State::kDone || (stream_ && !stream_->done()))
    return Invalid("the pack is truncated: it ended before its end mark");
  return Status::Ok();
}

}  // namespace converge
