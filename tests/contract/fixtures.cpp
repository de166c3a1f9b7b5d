#include "fixtures.h"

namespace converge::testing {

std::unique_ptr<ServerProcess> ContractTest::server_;

}  // namespace converge::testing
