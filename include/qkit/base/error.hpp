// qkit/base/error.hpp — the one exception type qkit throws.
//
// Every failure caused by input (a file, a shape, a string, an unsupported
// CPU request) raises qkit::Error with a message that says what is wrong and
// where (byte offset, tensor name, both shapes). Build messages with
// qkit::error_message(parts...) or throw directly with qkit::fail(parts...).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace qkit {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

template <typename... Parts>
std::string error_message(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  return os.str();
}

template <typename... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  throw Error(error_message(std::forward<Parts>(parts)...));
}

// Throws with the message unless cond holds; the message parts are only
// formatted on failure.
template <typename... Parts>
void require(bool cond, Parts&&... parts) {
  if (!cond) fail(std::forward<Parts>(parts)...);
}

}  // namespace qkit
