// SHA-256 of byte ranges (OpenSSL libcrypto), as lowercase hex.
#pragma once
#include <cstddef>
#include <memory>
#include <span>
#include <string>

namespace qk {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  void update(std::span<const std::byte> bytes);
  std::string hex_digest();  // finalises

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256_hex(std::span<const std::byte> bytes);

}  // namespace qk
