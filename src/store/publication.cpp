#include "store/publication.h"

#include "store/db.h"

namespace converge {

Publication PublicationFromRow(const Stmt& q, int first, std::string repo) {
  Publication p;
  p.id = q.Text(first);
  p.repo = std::move(repo);
  p.snap = q.Text(first + 1);
  p.scope = q.Text(first + 2);
  p.gate = q.Text(first + 3);
  p.lane = q.Text(first + 4);
  p.publisher_id = q.Int(first + 5);
  p.publisher = q.Text(first + 6);
  p.created_at = q.Text(first + 7);
  p.workspace_id = q.Text(first + 8);
  p.client_version = q.Text(first + 9);
  p.host = q.Text(first + 10);
  p.note = q.Text(first + 11);
  return p;
}

}  // namespace converge
