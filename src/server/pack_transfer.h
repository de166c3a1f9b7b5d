// The server's role in receiving a pack (docs/pack.md): store/
// object_receiver.h streams and hash-checks each object; this checks it
// against what the repo holds and what came before it in the pack
// (server/object_check.h), and makes every object received whole durable and
// the repo's, in one transaction, even when a later one fails.
#pragma once

#include <cstdint>

#include "api/wire.h"
#include "server/config.h"
#include "server/db_pool.h"
#include "server/object_intake.h"
#include "store/cas.h"

namespace converge {

// Receives the pack in `body` into repo `repo_id` (the caller has checked the
// publish role; nothing here audits). Objects are held to max_object_bytes
// (a blob) and max_metadata_bytes (the others), the count to
// max_ids_per_request (kTooLarge). Fails with the pack's kInvalid (bad
// framing, truncated), an object's kCorrupt (hash, references, sizes, depth)
// or kInvalid (entry names), each naming the object ("pack object #3
// (manifest 1a2b...)"); objects verified before a failure are kept, and the
// message says how many. Leases a connection of `dbs` only to check an
// object against the repo and to commit, never while the body streams in.
Result<wire::PackResult> ReceivePack(DbPool& dbs, ObjectStore& store, int64_t repo_id,
                                     const ServerConfig& config, const ObjectIntake::Body& body);

}  // namespace converge
