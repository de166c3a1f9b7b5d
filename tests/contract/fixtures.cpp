#include "fixtures.h"

#include <cstdio>

#include "support/nginx.h"

namespace converge::testing {

std::unique_ptr<ServerProcess> ContractTest::server_;

std::string ContractTest::UnknownToken(int i) {
  char id[17];
  std::snprintf(id, sizeof id, "%016x", i);
  return std::string("cvg_") + id + "_" + std::string(64, 'e');
}

int ContractTest::AuditRowsFrom(const std::string& action, const std::string& remote_addr) {
  Reply page = Admin().Get("/v1/audit?limit=1000");
  int n = 0;
  for (const auto& e : page.json()["entries"])
    if (e["action"] == action && e["remote_addr"] == remote_addr) n++;
  return n;
}

int ContractTest::WhoamiStatusFrom(const std::string& source, int port, const std::string& token,
                                   const std::string& header_lines) {
  return StatusOf(
      RequestFromAddress(source, port,
                         "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                             "\r\n" + header_lines + "Connection: close\r\n\r\n"));
}

}  // namespace converge::testing
