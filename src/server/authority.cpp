#include "server/authority.h"

namespace converge {

Authority::Authority(const ServerConfig& config, DataDir data)
    : config_(config),
      data_(std::move(data)),
      dbs_(data_.db_path()),
      identity_(dbs_, config_),
      registry_(dbs_),
      objects_(dbs_, data_.store(), config_),
      publications_(dbs_),
      audit_(dbs_) {}

Result<std::unique_ptr<Authority>> Authority::Open(const ServerConfig& config) {
  ASSIGN_OR_RETURN(DataDir data, DataDir::Open(config.data_dir));
  std::unique_ptr<Authority> a(new Authority(config, std::move(data)));
  // Opening one connection creates and migrates the database before any request.
  RETURN_IF_ERROR(a->dbs_.Acquire().status());
  ASSIGN_OR_RETURN(a->bootstrapped_, a->identity_.Bootstrap(a->data_.token_file()));
  return a;
}

}  // namespace converge
