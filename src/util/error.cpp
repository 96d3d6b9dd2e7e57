#include "util/error.hpp"

namespace qk {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Usage: return "usage";
    case ErrorKind::Io: return "io";
    case ErrorKind::Format: return "format";
    case ErrorKind::Mismatch: return "mismatch";
    case ErrorKind::Unsupported: return "unsupported";
    case ErrorKind::Verify: return "verify";
    case ErrorKind::Network: return "network";
  }
  return "error";
}

}  // namespace qk
