#include "store/object_receiver.h"

namespace converge {

Status ObjectReceiver::Role::Accept(ObjectKind, const ObjectId&, uint64_t) {
  return Status::Ok();
}

Status ObjectReceiver::Role::Refused(Refusal, ObjectKind, const ObjectId&, uint64_t,
                                     const Status& why) {
  return why;
}

void ObjectReceiver::Role::Received(size_t) {}

Status ObjectReceiver::Begin(ObjectKind kind, const ObjectId& id, uint64_t size) {
  writer_.reset();  // an object cut short by an error before: its temp file goes
  buf_.clear();
  RETURN_IF_ERROR(role_.Accept(kind, id, size));
  if (kind != ObjectKind::kBlob && size > max_metadata_)
    return role_.Refused(
        Refusal::kTooLarge, kind, id, size,
        TooLarge(Describe(kind, id) + " is " + std::to_string(size) + " bytes, over the limit of " +
                 std::to_string(max_metadata_) + " bytes for a manifest, snap or chunk list"));
  kind_ = kind;
  id_ = id;
  size_ = size;
  ASSIGN_OR_RETURN(ObjectWriter w, store_.NewWriter());
  w.Reserve(size);
  writer_.emplace(std::move(w));
  return Status::Ok();
}

Status ObjectReceiver::Data(std::string_view piece) {
  if (!writer_) return Internal("object data before its header");
  bytes_ += piece.size();
  role_.Received(piece.size());
  if (kind_ != ObjectKind::kBlob) buf_.append(piece);
  return writer_->Append(piece);
}

Status ObjectReceiver::End() {
  if (!writer_) return Internal("object end before its header");
  ReceivedObject got{kind_, id_, size_, std::move(buf_), std::move(*writer_)};
  writer_.reset();
  buf_.clear();
  Result<ObjectId> hashed = got.file.Finish(id_);
  if (!hashed.ok()) return role_.Refused(Refusal::kBadHash, kind_, id_, size_, hashed.status());
  RETURN_IF_ERROR(role_.Take(std::move(got)));
  objects_++;
  return Status::Ok();
}

}  // namespace converge
