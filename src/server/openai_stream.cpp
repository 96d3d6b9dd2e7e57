#include "server/openai_stream.hpp"

#include <httplib.h>

#include "server/openai_response.hpp"
#include "util/utf8.hpp"

namespace qk::server {

void PieceQueue::push(std::size_t choice, engine_service::StreamPiece piece) {
  {
    std::lock_guard lock(mutex_);
    pieces_.emplace_back(choice, std::move(piece));
  }
  arrived_.notify_one();
}

std::deque<std::pair<std::size_t, engine_service::StreamPiece>> PieceQueue::pop(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  arrived_.wait_for(lock, wait, [this] { return !pieces_.empty(); });
  return std::exchange(pieces_, {});
}

namespace {

// What one stream has sent so far, and how to say the next thing.
class ChunkWriter {
 public:
  ChunkWriter(StreamShape shape, const Tokenizer& tokenizer)
      : shape_(std::move(shape)), tokenizer_(tokenizer), tokens_sent_(shape_.choices, 0), open_(shape_.choices) {}

  // The chunks before any generated text: the assistant role (chat), the echoed prompt (completions).
  std::string opening() const {
    std::string out;
    for (std::size_t i = 0; i < shape_.choices; ++i) {
      if (shape_.endpoint == Endpoint::ChatCompletions)
        out += event(choice(i, {{"delta", {{"role", "assistant"}, {"content", ""}}}}));
      else if (!shape_.echo.empty())
        out += event(choice(i, {{"text", shape_.echo}}));
    }
    return out;
  }

  // The chunks of one piece: its text (with logprobs), then finish_reason when it is the last.
  std::string piece(std::size_t index, const engine_service::StreamPiece& p) {
    std::string out;
    if (!p.error.empty()) {
      --open_;
      return "data: " + dump_json(error_body("generation failed: " + p.error, "server_error")) + "\n\n";
    }
    tokens_sent_[index] += p.tokens.size();
    if (!p.text.empty() || !p.tokens.empty()) {
      nlohmann::json logprobs;  // null unless asked
      if (shape_.logprobs) {
        const TokenRun run{p.tokens, p.logprobs, p.token_offsets};
        logprobs = shape_.endpoint == Endpoint::ChatCompletions
                       ? chat_logprobs(tokenizer_, run)
                       : completion_logprobs(tokenizer_, run, utf8_length(shape_.echo));
      }
      if (shape_.endpoint == Endpoint::ChatCompletions)
        out += event(choice(index, {{"delta", {{"content", p.text}}}, {"logprobs", logprobs}}));
      else
        out += event(choice(index, {{"text", p.text}, {"logprobs", logprobs}}));
    }
    if (p.last) {
      --open_;
      const char* finish = engine::finish_reason_name(p.finish);
      if (shape_.endpoint == Endpoint::ChatCompletions)
        out += event(choice(index, {{"delta", nlohmann::json::object()}, {"finish_reason", finish}}));
      else
        out += event(choice(index, {{"text", ""}, {"finish_reason", finish}}));
    }
    return out;
  }

  bool finished() const { return open_ == 0; }

  std::string closing() const {
    std::string out;
    if (shape_.include_usage) {
      std::size_t completion = 0;
      for (auto n : tokens_sent_) completion += n;
      nlohmann::json chunk = header();
      chunk["choices"] = nlohmann::json::array();
      chunk["usage"] = usage_json(shape_.prompt_tokens, completion);
      out += event(chunk);
    }
    return out + "data: [DONE]\n\n";
  }

 private:
  nlohmann::json header() const {
    return {{"id", shape_.id},
            {"object", shape_.endpoint == Endpoint::ChatCompletions ? "chat.completion.chunk" : "text_completion"},
            {"created", shape_.created},
            {"model", shape_.model}};
  }
  nlohmann::json choice(std::size_t index, nlohmann::json fields) const {
    nlohmann::json c{{"index", index}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
    for (auto& [k, v] : fields.items()) c[k] = v;
    nlohmann::json chunk = header();
    chunk["choices"] = nlohmann::json::array({c});
    // With include_usage every chunk but the last carries "usage": null (OpenAI's shape).
    if (shape_.include_usage) chunk["usage"] = nullptr;
    return chunk;
  }
  static std::string event(const nlohmann::json& chunk) { return "data: " + dump_json(chunk) + "\n\n"; }

  StreamShape shape_;
  const Tokenizer& tokenizer_;
  std::vector<std::size_t> tokens_sent_;
  std::size_t open_;
};

}  // namespace

void stream_reply(httplib::Response& res, std::shared_ptr<PieceQueue> queue, StreamShape shape, const Tokenizer& tokenizer) {
  auto writer = std::make_shared<ChunkWriter>(std::move(shape), tokenizer);
  auto opened = std::make_shared<bool>(false);
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [queue, writer, opened](std::size_t, httplib::DataSink& sink) {
        auto send = [&](const std::string& text) {
          if (text.empty() || sink.write(text.data(), text.size())) return true;
          queue->cancelled->store(true);  // the client is gone: stop generating for it
          return false;
        };
        if (!*opened) {
          *opened = true;
          return send(writer->opening());
        }
        auto pieces = queue->pop(std::chrono::milliseconds(500));
        if (pieces.empty()) {
          // Nothing for a while (a long prefill, a queue ahead of us): an SSE comment, which clients
          // ignore, finds out whether the client is still there.
          return send(": waiting\n\n");
        }
        for (auto& [index, piece] : pieces)
          if (!send(writer->piece(index, piece))) return false;
        if (writer->finished()) {
          if (!send(writer->closing())) return false;
          sink.done();
        }
        return true;
      },
      // Called however the response ends; after a complete stream the flag changes nothing.
      [queue](bool) { queue->cancelled->store(true); });
}

}  // namespace qk::server
