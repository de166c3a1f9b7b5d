#include "support/nginx.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "support/server.h"

namespace converge::testing {

namespace {

std::string NginxConfig(const fs::path& dir, int port, const std::vector<int>& upstreams) {
  std::string d = dir.string();
  std::string servers;
  for (int p : upstreams) servers += "    server 127.0.0.1:" + std::to_string(p) + ";\n";
  return "daemon off;\n"
         "master_process off;\n"  // one process: it runs as whoever started it, and dies whole
         "pid " +
         d +
         "/nginx.pid;\n"
         "error_log " +
         d +
         "/error.log info;\n"
         "events { worker_connections 512; }\n"
         "http {\n"
         "  access_log " +
         d +
         "/access.log;\n"
         "  client_body_temp_path " +
         d +
         "/body;\n"
         "  proxy_temp_path " +
         d +
         "/proxy;\n"
         "  fastcgi_temp_path " +
         d +
         "/fastcgi;\n"
         "  uwsgi_temp_path " +
         d +
         "/uwsgi;\n"
         "  scgi_temp_path " +
         d +
         "/scgi;\n"
         "  upstream converge {\n" +
         servers +
         "  }\n"
         "  server {\n"
         "    listen 127.0.0.1:" +
         std::to_string(port) +
         ";\n"
         "    client_max_body_size 0;\n"
         "    location / {\n"
         "      proxy_pass http://converge;\n"
         "      proxy_http_version 1.1;\n"
         "      proxy_request_buffering off;\n"
         "      proxy_buffering off;\n"
         "      proxy_set_header Host $http_host;\n"
         "      proxy_set_header Connection \"\";\n"
         "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
         "      proxy_set_header X-Forwarded-Proto $scheme;\n"
         "      proxy_read_timeout 300s;\n"
         "      proxy_send_timeout 300s;\n"
         "    }\n"
         "  }\n"
         "}\n";
}

}  // namespace

std::string NginxProxy::Binary() {
  const char* env = std::getenv("NGINX_BIN");
  return env && *env ? env : "/usr/sbin/nginx";
}

NginxProxy::NginxProxy(const std::vector<int>& upstream_ports) {
  if (::access(Binary().c_str(), X_OK) != 0)
    throw std::runtime_error("no nginx at " + Binary() +
                             ": run scripts/deps.sh (it installs nginx-light)");
  Start(upstream_ports);
}

NginxProxy::~NginxProxy() {
  Stop();
}

void NginxProxy::Start(const std::vector<int>& upstream_ports) {
  // A port free a moment ago may be taken by the time nginx binds it: retry.
  for (int attempt = 0; attempt < 5; attempt++) {
    port_ = FreePort();
    fs::path conf = dir_ / "nginx.conf";
    WriteFile(conf, NginxConfig(dir_.path(), port_, upstream_ports));
    pid_ = Spawn({Binary(), "-p", dir_.path().string(), "-c", conf.string(), "-e",
                  (dir_ / "error.log").string()});
    // Readiness, not timing: poll until it proxies a health check or is gone.
    for (int i = 0; i < 3000 && pid_ > 0; i++) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::string answer = RequestFromAddress(
          "127.0.0.1", port_, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      if (StatusOf(answer) == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Stop();
  }
  throw std::runtime_error("nginx did not start:\n" + ErrorLog());
}

void NginxProxy::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 1000; i++) {  // up to ~10 s for a fast shutdown
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string NginxProxy::ErrorLog() const {
  try {
    return ReadFileOrDie(dir_ / "error.log");
  } catch (const std::exception&) {
    return "";
  }
}

std::string RequestFromAddress(const std::string& source, int port, const std::string& raw) {
  RawConnection conn(port, source);
  if (!conn.connected()) return "";
  conn.Send(raw);
  return conn.ReadAll();
}

int StatusOf(const std::string& answer) {
  if (answer.rfind("HTTP/1.", 0) != 0 || answer.size() < 12) return -1;
  return std::atoi(answer.c_str() + 9);
}

}  // namespace converge::testing
