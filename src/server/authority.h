// The central authority: the data dir, the database and the services that
// answer for identity, registries, objects, publications and the audit log.
// The HTTP layer (net/http_server.h) only translates requests into calls on
// these, each taking the authenticated Caller and returning Result<...>.
// Each service's header states, per call, the role it needs, what it
// returns, its error codes and what it writes to the audit log: identity in
// server/auth.h, registries in server/registry.h, objects in
// server/object_intake.h, publications in server/publications.h, the audit
// log in server/audit.h. The services share the Authority's connection pool;
// they are safe to call from many threads at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "server/audit.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/data_dir.h"
#include "server/db_pool.h"
#include "server/node_lock.h"
#include "server/object_intake.h"
#include "server/object_sender.h"
#include "server/publications.h"
#include "server/registry.h"
#include "server/web_sessions.h"

namespace converge {

class Authority {
 public:
  // Opens (creating on first start) the data dir of `config`: takes its lock,
  // creates and migrates the database, measures trees stored before depths
  // were recorded, loads (or makes) the audit key and registers it as the
  // database's signer, and, on an empty database, makes the admin user and
  // its one-time token file (audited, see Identity::Bootstrap). Errors:
  // kConflict when another converge serve holds the data dir, when the data
  // dir and the database are of different authorities (server/authority_id.h),
  // or when the audit log's head is signed by another key than the data dir's; kIo for
  // the files; the database's (a database from a newer converge says so).
  static Result<std::unique_ptr<Authority>> Open(const ServerConfig& config);

  Authority(const Authority&) = delete;
  Authority& operator=(const Authority&) = delete;

  const ServerConfig& config() const { return config_; }
  const DataDir& data_dir() const { return data_; }
  // Where the metadata lives, for the start-up line (no password).
  std::string db_description() const { return dbs_.where().Describe(); }
  // Whether this start made the admin token file.
  bool bootstrapped() const { return bootstrapped_; }
  // The key that signs the audit log's head, and what starting did with it
  // ("" or a note for the operator: a new key, a first signed head).
  const AuditKey& audit_key() const { return *audit_key_; }
  const std::vector<std::string>& audit_notes() const { return audit_notes_; }
  // On PostgreSQL, the node lock this node holds while it runs
  // (server/node_lock.h; its upkeep is the caller's); null on SQLite.
  NodeLock* node_lock() { return node_lock_.get(); }
  // What measuring trees stored before depths were recorded did (server/depths.h).
  const std::vector<std::string>& depth_notes() const { return depth_notes_; }

  Identity& identity() { return identity_; }
  Registry& registry() { return registry_; }
  ObjectIntake& objects() { return objects_; }
  ObjectSender& sender() { return sender_; }
  Publications& publications() { return publications_; }
  AuditLog& audit() { return audit_; }
  WebSessions& web_sessions() { return web_sessions_; }

  // Closes the database connections; call once no request is running.
  void Close() { dbs_.Close(); }
  ~Authority();

 private:
  Authority(const ServerConfig& config, DataDir data);
  Status LoadAuditKey();
  Status RefuseUnimportedSqlite(Db& db);

  ServerConfig config_;
  DataDir data_;
  DbPool dbs_;
  std::unique_ptr<NodeLock> node_lock_;
  std::string db_source_;  // Db::source(): the audit signer's key
  bool bootstrapped_ = false;
  std::shared_ptr<const AuditKey> audit_key_;
  std::vector<std::string> audit_notes_;
  std::vector<std::string> depth_notes_;
  Identity identity_;
  Registry registry_;
  ObjectIntake objects_;
  ObjectSender sender_;
  Publications publications_;
  AuditLog audit_;
  WebSessions web_sessions_;
};

}  // namespace converge
