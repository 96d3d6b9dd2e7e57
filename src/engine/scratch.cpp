#include "engine/scratch.hpp"

#include <array>
#include <memory>

namespace qk::engine {

float* scratch(Scratch slot, std::size_t floats) {
  struct Buffer {
    std::unique_ptr<float[]> data;  // new float[n]: not value-initialised
    std::size_t size = 0;
  };
  thread_local std::array<Buffer, static_cast<std::size_t>(Scratch::Count)> buffers;
  Buffer& b = buffers[static_cast<std::size_t>(slot)];
  if (b.size < floats) {
    b.data.reset();  // free first: peak memory stays one buffer per slot
    b.data.reset(new float[floats]);
    b.size = floats;
  }
  return b.data.get();
}

}  // namespace qk::engine
