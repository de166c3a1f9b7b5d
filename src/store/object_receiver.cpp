#include "store/object_receiver.h"

namespace converge {

namespace {
// Raw bytes made from a frame per decompression step: what the receiver
// holds beyond the object itself.
constexpr size_t kReceiverDecodePiece = 256 << 10;
}  // namespace

Status ObjectSink::BeginEncoded(const EncodedObject& o) {
  return Invalid(Describe(o.kind, o.id) + " came compressed, which is not taken here");
}

Status ObjectReceiver::Role::Accept(ObjectKind, const ObjectId&, uint64_t) {
  return Status::Ok();
}

Status ObjectReceiver::Role::Refused(Refusal, ObjectKind, const ObjectId&, uint64_t,
                                     const Status& why) {
  return why;
}

void ObjectReceiver::Role::Received(size_t) {}

Result<std::string> ObjectReceiver::Role::Base(ObjectKind kind, const ObjectId& base) {
  return Corrupt("it was sent against " + Describe(kind, base) +
                 ", but no object is taken as a base here");
}

Status AddReceived(WriteBatch& batch, ReceivedObject&& o) {
  if (o.frame.held()) return batch.AddFrame(std::move(o.file), o.kind, o.frame.view());
  return batch.Add(std::move(o.file), o.kind);
}

Status ObjectReceiver::BadEncoding(const std::string& why) {
  return role_.Refused(Refusal::kBadEncoding, kind_, id_, size_, Corrupt(why));
}

Status ObjectReceiver::Begin(ObjectKind kind, const ObjectId& id, uint64_t size) {
  return BeginEncoded(EncodedObject{kind, id, size, Encoding::kRaw, size, ObjectId()});
}

Status ObjectReceiver::BeginEncoded(const EncodedObject& o) {
  writer_.reset();  // an object cut short by an error before: its temp file goes
  buf_.clear();
  frame_.Release();
  base_.Release();
  head_.clear();
  head_checked_ = false;
  made_ = 0;
  RETURN_IF_ERROR(role_.Accept(o.kind, o.id, o.size));
  if (o.kind != ObjectKind::kBlob && o.size > max_metadata_)
    return role_.Refused(Refusal::kTooLarge, o.kind, o.id, o.size,
                         TooLarge(Describe(o.kind, o.id) + " is " + std::to_string(o.size) +
                                  " bytes, over the limit of " + std::to_string(max_metadata_) +
                                  " bytes for a manifest, snap or chunk list"));
  kind_ = o.kind;
  id_ = o.id;
  size_ = o.size;
  encoding_ = o.encoding;
  stored_ = o.stored;
  if (o.encoding != Encoding::kRaw) {
    if (o.size > kMaxCompressedObject || o.stored == 0 || o.stored > o.size + kMaxFrameOverhead)
      return BadEncoding("it came as a frame of " + std::to_string(o.stored) + " bytes for " +
                         std::to_string(o.size) + ": an object sent compressed is at most " +
                         std::to_string(kMaxCompressedObject) + " bytes, its frame at most " +
                         std::to_string(kMaxFrameOverhead) + " bytes more");
    if (!out_) out_ = std::make_unique_for_overwrite<char[]>(kReceiverDecodePiece);
  }
  if (o.encoding == Encoding::kZstd) {
    if (!decoder_) decoder_ = std::make_unique<StreamDecompressor>(kObjectWindowLog);
    decoder_->Reset();
    // Kept to be stored as it came, when the budget has room (else the
    // batch compresses the object again).
    frame_.Reserve(o.stored);
  } else if (o.encoding == Encoding::kZstdDelta) {
    if (!frame_.Reserve(o.stored))
      return Unavailable("no memory to spare for " + Describe(o.kind, o.id) +
                         ", sent against a base: retry later");
    Result<std::string> base = role_.Base(o.kind, o.base);
    if (!base.ok())
      return role_.Refused(Refusal::kBadEncoding, o.kind, o.id, o.size, base.status());
    if (!base_.Adopt(std::move(*base)))
      return Unavailable("no memory to spare for the base of " + Describe(o.kind, o.id) +
                         ": retry later");
  }
  ASSIGN_OR_RETURN(ObjectWriter w, store_.NewWriter());
  w.Reserve(o.size);
  writer_.emplace(std::move(w));
  return Status::Ok();
}

Status ObjectReceiver::Decoded(std::string_view raw) {
  if (raw.empty()) return Status::Ok();
  if (raw.size() > size_ - made_)
    return BadEncoding("its compressed bytes inflate past its declared size of " +
                       std::to_string(size_) + " bytes");
  made_ += raw.size();
  made_total_ += raw.size();
  if (kind_ != ObjectKind::kBlob) buf_.append(raw);
  return writer_->Append(raw);
}

Status ObjectReceiver::DataZstd(std::string_view piece) {
  if (frame_.held() && !frame_.Append(piece)) frame_.Release();
  if (!head_checked_) {
    head_.append(piece.substr(0, std::min<size_t>(piece.size(), 32 - head_.size())));
    Status st = CheckFrameHeader(head_, size_, &head_checked_);
    if (!st.ok()) return BadEncoding(st.message());
  }
  size_t n = 0;
  do {
    n = 0;
    Status st = decoder_->Feed(piece, out_.get(), kReceiverDecodePiece, &n);
    if (!st.ok())
      return BadEncoding(st.message() + "; it was declared to hold " + std::to_string(size_) +
                         " bytes");
    RETURN_IF_ERROR(Decoded(std::string_view(out_.get(), n)));
  } while (!piece.empty() || n == kReceiverDecodePiece);
  return Status::Ok();
}

Status ObjectReceiver::Data(std::string_view piece) {
  if (!writer_) return Internal("object data before its header");
  bytes_ += piece.size();
  role_.Received(piece.size());
  switch (encoding_) {
    case Encoding::kRaw:
      made_total_ += piece.size();
      if (kind_ != ObjectKind::kBlob) buf_.append(piece);
      return writer_->Append(piece);
    case Encoding::kZstd:
      return DataZstd(piece);
    case Encoding::kZstdDelta:
      if (!frame_.Append(piece)) return Internal("more frame bytes than declared");
      return Status::Ok();
  }
  return Internal("unknown encoding");
}

Status ObjectReceiver::EndDelta() {
  BudgetedBytes out;
  if (!out.Reserve(size_))
    return Unavailable("no memory to spare for " + Describe(kind_, id_) +
                       ", sent against a base: retry later");
  out.bytes().resize(static_cast<size_t>(size_));
  Status st = DecompressAgainst(frame_.view(), base_.view(), out.bytes().data(), size_);
  frame_.Release();
  base_.Release();
  if (!st.ok()) return BadEncoding(st.message());
  return Decoded(out.view());
}

Status ObjectReceiver::End() {
  if (!writer_) return Internal("object end before its header");
  if (encoding_ == Encoding::kZstd) {
    if (!head_checked_ || !decoder_->done())
      return BadEncoding("its compressed frame is cut short");
    if (made_ != size_)
      return BadEncoding("its compressed frame holds " + std::to_string(made_) +
                         " bytes, not the " + std::to_string(size_) + " its header gives");
  } else if (encoding_ == Encoding::kZstdDelta) {
    RETURN_IF_ERROR(EndDelta());
  }
  ReceivedObject got{kind_, id_, size_, std::move(buf_), std::move(*writer_), {}};
  if (encoding_ == Encoding::kZstd && frame_.view().size() == stored_)
    got.frame = std::move(frame_);
  frame_.Release();
  writer_.reset();
  buf_.clear();
  Result<ObjectId> hashed = got.file.Finish(id_);
  if (!hashed.ok()) return role_.Refused(Refusal::kBadHash, kind_, id_, size_, hashed.status());
  RETURN_IF_ERROR(role_.Take(std::move(got)));
  objects_++;
  return Status::Ok();
}

}  // namespace converge
