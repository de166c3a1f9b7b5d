#include "base/memory.h"

#include <malloc.h>

namespace converge {

void ReturnFreedMemory() {
  ::malloc_trim(0);
}

}  // namespace converge
