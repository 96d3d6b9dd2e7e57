// Server-sent events for "stream": true: the pieces of text the engine thread hands over (for each of
// the n choices) become OpenAI chunks written by the HTTP worker thread as they arrive. When the client
// goes away (a write fails) every choice is cancelled, so the engine stops decoding for it.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine_service/engine_service.hpp"
#include "server/openai_request.hpp"

namespace httplib {
struct Response;
}

namespace qk::server {

// The pieces of a request's choices, from the engine thread to the HTTP thread.
class PieceQueue {
 public:
  void push(std::size_t choice, engine_service::StreamPiece piece);
  // Everything queued, waiting up to `wait` for something to arrive.
  std::deque<std::pair<std::size_t, engine_service::StreamPiece>> pop(std::chrono::milliseconds wait);
  const std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<std::pair<std::size_t, engine_service::StreamPiece>> pieces_;
};

struct StreamShape {
  Endpoint endpoint;
  std::string id, model;
  std::int64_t created = 0;
  std::size_t choices = 1;
  std::size_t prompt_tokens = 0;
  bool logprobs = false;
  bool include_usage = false;
  std::string echo;  // completions with echo: the prompt text, sent first
};

// Sets `res` to a chunked text/event-stream fed from `queue` until every choice has sent its last
// piece, then the usage chunk (include_usage) and "data: [DONE]".
void stream_reply(httplib::Response& res, std::shared_ptr<PieceQueue> queue, StreamShape shape, const Tokenizer& tokenizer);

}  // namespace qk::server
