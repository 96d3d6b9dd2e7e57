#include "sweep/candidate_backends.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <thread>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "arch/profile.hpp"
#include "backend/embedded_backend.hpp"
#include "engine/causal_lm.hpp"
#include "engine/prefill_reuse.hpp"
#include "engine_service/engine_service.hpp"
#include "heads/candidate.hpp"
#include "surgery/output.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

namespace qk::sweep {
namespace {

// The global layers: where the default candidates start to differ from SFT, so where prefill can be resumed.
std::vector<std::size_t> global_layers(const Checkpoint& base, const Checkpoint& sft, const FamilyTable& table) {
  std::vector<std::size_t> layers;
  for (int l : make_plan(base, sft, Selection{}, table).selected_layers) layers.push_back(static_cast<std::size_t>(l));
  return layers;
}

// One model held in the engine, with its weight edits and its recorded prefill: SFT (candidates take
// base's rows) or base (reverse candidates take SFT's rows).
struct Host {
  Host(const std::filesystem::path& dir, const Checkpoint& source, const Checkpoint& held, const FamilyTable& table,
       const std::vector<std::size_t>& levels, const EmbeddedOptions& options, bool record)
      : record_as_is(record) {
    std::unique_ptr<engine::CausalLM> model = engine::load_causal_lm(dir);
    if (options.prefill_reuse) {
      auto wrapped = std::make_unique<engine::PrefillReuse>(std::move(model), levels, options.reuse_budget_bytes);
      reuse = wrapped.get();
      model = std::move(wrapped);
    }
    if (!std::filesystem::exists(dir / "tokenizer.json"))
      fail(ErrorKind::Io, "{} has no tokenizer.json (the engine needs it to turn text into tokens)", dir.string());
    engine::CausalLM* raw = model.get();
    service = std::make_shared<engine_service::EngineService>(std::move(model), Tokenizer::from_file(dir / "tokenizer.json"));
    surgery.emplace(*raw, source, held, table);
  }
  // Weights change only here, while no request runs: the engine thread is idle.
  void as_is() {
    surgery->undo();
    if (reuse) record_as_is ? reuse->record() : reuse->pass_through();
  }
  void edited(const RepairSpec& spec) {
    const SurgeryPlan& plan = surgery->apply(spec);
    if (!reuse) return;
    if (const auto first = plan.first_changed_layer()) reuse->reuse_from(*first);
    else reuse->pass_through();
  }

  bool record_as_is;                      // the run as it is records its prefill (for candidates to resume from)
  engine::PrefillReuse* reuse = nullptr;  // owned by the service's model
  std::shared_ptr<engine_service::EngineService> service;
  std::optional<heads::InMemorySurgery> surgery;  // after the service: undone before the model goes
};

class EmbeddedCandidates final : public CandidateBackends {
 public:
  EmbeddedCandidates(const std::filesystem::path& base_dir, const std::filesystem::path& sft_dir, const FamilyTable& table,
                     EmbeddedOptions options)
      : base_dir_(base_dir), sft_dir_(sft_dir), base_(base_dir), sft_(sft_dir), table_(table), options_(std::move(options)) {
    if (options_.levels.empty()) options_.levels = global_layers(base_, sft_, table_);
    sft_host_.emplace(sft_dir, base_, sft_, table_, options_.levels, options_, true);
  }

  Answerers start(const Candidate& candidate, const std::filesystem::path&) override {
    release();
    Host& host = candidate.kind == CandidateKind::Base || candidate.kind == CandidateKind::ReverseSurgery ? base_host() : *sft_host_;
    if (candidate.kind == CandidateKind::Sft || candidate.kind == CandidateKind::Base) host.as_is();
    else host.edited(candidate.spec);
    backend_ = backend::make_embedded_backend(host.service, candidate.name);
    return {backend_.get(), nullptr};
  }
  void release() override { backend_.reset(); }

  std::string savings() const override {
    std::string text;
    for (const auto* host : {&sft_host_, &base_host_}) {
      if (!*host || !(*host)->reuse) continue;
      const engine::PrefillReuseStats& s = (*host)->reuse->stats();
      text += fmt::format("{}prefill reuse ({}): {} prompt tokens recorded ({} chunks, {:.0f} MB), {} prefilled from the record "
                          "({} chunks), {} copied from an earlier prompt ({} chunks){}{}", text.empty() ? "" : "; ",
                          host == &sft_host_ ? "SFT" : "base", s.recorded_tokens, s.recorded_chunks, s.recorded_bytes / 1e6,
                          s.reused_tokens, s.reused_chunks, s.shared_tokens, s.shared_chunks,
                          s.skipped_for_budget ? fmt::format(", {} chunks not recorded (over budget)", s.skipped_for_budget) : "",
                          s.unshared_for_budget ? fmt::format(", {} recurring chunks not kept (over budget)", s.unshared_for_budget) : "");
    }
    return text;
  }

 private:
  Host& base_host() {
    if (!base_host_) base_host_.emplace(base_dir_, sft_, base_, table_, options_.levels, options_, options_.record_base);  // takes SFT's rows into base
    return *base_host_;
  }

  std::filesystem::path base_dir_, sft_dir_;
  Checkpoint base_, sft_;
  FamilyTable table_;
  EmbeddedOptions options_;
  std::optional<Host> sft_host_, base_host_;
  std::unique_ptr<backend::Backend> backend_;
};

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    fail(ErrorKind::Io, "cannot find a free loopback port for --serve-cmd");
  const int port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) text.replace(at, from.size(), to);
  return text;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class ServedCandidates final : public CandidateBackends {
 public:
  ServedCandidates(std::filesystem::path base_dir, std::filesystem::path sft_dir, FamilyTable table, ServeOptions options)
      : base_dir_(std::move(base_dir)), sft_dir_(std::move(sft_dir)), table_(std::move(table)), options_(std::move(options)) {
    if (options_.command.find("{model}") == std::string::npos || options_.command.find("{port}") == std::string::npos)
      fail(ErrorKind::Usage, "--serve-cmd must hold {{model}} and {{port}}, e.g. 'vllm serve {{model}} --port {{port}}'");
  }
  ~ServedCandidates() override {
    try {
      release();
      std::error_code error;
      std::filesystem::remove(options_.scratch, error);  // only when empty: never a folder the user owns
    } catch (...) {
    }
  }

  Answerers start(const Candidate& candidate, const std::filesystem::path& candidate_dir) override {
    release();
    std::filesystem::path model_dir = candidate.kind == CandidateKind::Base ? base_dir_ : sft_dir_;
    if (candidate.kind == CandidateKind::Surgery || candidate.kind == CandidateKind::ReverseSurgery) {
      std::error_code error;
      std::filesystem::create_directories(options_.scratch, error);
      if (error) fail(ErrorKind::Io, "cannot create {}: {}", options_.scratch.string(), error.message());
      scratch_model_ = options_.scratch / candidate.name;
      // A reverse candidate is the same surgery with the roles swapped: base's files, SFT's rows.
      const bool reverse = candidate.kind == CandidateKind::ReverseSurgery;
      const std::filesystem::path& source_dir = reverse ? sft_dir_ : base_dir_;
      const std::filesystem::path& held_dir = reverse ? base_dir_ : sft_dir_;
      Checkpoint source(source_dir), held(held_dir);
      const SurgeryPlan plan = make_plan(source, held, candidate.spec.selection, table_);
      OutputOptions out;
      out.out = scratch_model_;
      out.overwrite = true;
      out.quiet = true;
      out.command_line = candidate.spec.command(source_dir.string(), held_dir.string(), scratch_model_.string());
      out.selection = candidate.spec.selection;
      write_output(source, held, plan, *candidate.spec.make_method(), out);
      model_dir = scratch_model_;
    }
    const int port = free_port();
    const std::string command =
        replace_all(replace_all(options_.command, "{model}", shell_quote(model_dir.string())), "{port}", std::to_string(port));
    std::filesystem::create_directories(candidate_dir);
    const std::string log = (candidate_dir / "server.log").string();
    pid_ = ::fork();
    if (pid_ < 0) fail(ErrorKind::Io, "cannot start the server: fork failed");
    if (pid_ == 0) {
      ::setpgid(0, 0);  // its own process group: stopping it stops whatever it started
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) ::dup2(fd, 1), ::dup2(fd, 2);
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
    const std::string model_name = wait_until_ready(port, command, log);
    backend::OpenAiOptions client;
    client.base_url = fmt::format("http://127.0.0.1:{}", port);
    client.model = model_name;
    client.retries = options_.retries;
    client.read_timeout_s = options_.request_timeout_s;
    client.api = backend::ApiKind::Completions;
    raw_ = backend::make_openai_backend(client);
    client.api = backend::ApiKind::Chat;
    chat_ = backend::make_openai_backend(client);
    return {raw_.get(), chat_.get()};
  }

  void release() override {
    raw_.reset();
    chat_.reset();
    if (pid_ > 0) {
      ::kill(-pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (::waitpid(pid_, &status, WNOHANG) == 0) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
      pid_ = -1;
    }
    if (!scratch_model_.empty()) {
      std::error_code error;
      std::filesystem::remove_all(scratch_model_, error);
      scratch_model_.clear();
    }
  }

 private:
  // Polls GET /v1/models until the server answers; returns the first model id it lists.
  std::string wait_until_ready(int port, const std::string& command, const std::string& log) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(options_.ready_timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        fail(ErrorKind::Network, "--serve-cmd exited ({}) before answering: {} (its output: {})",
             WIFEXITED(status) ? fmt::format("status {}", WEXITSTATUS(status)) : "killed", command, log);
      }
      httplib::Client client("127.0.0.1", port);
      client.set_connection_timeout(1, 0);
      client.set_read_timeout(5, 0);
      if (auto reply = client.Get("/v1/models"); reply && reply->status == 200) {
        try {
          const auto j = nlohmann::json::parse(reply->body);
          return j.at("data").at(0).at("id").get<std::string>();
        } catch (const nlohmann::json::exception& e) {
          fail(ErrorKind::Network, "--serve-cmd's server answered GET /v1/models without a model id ({})", e.what());
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    fail(ErrorKind::Network, "--serve-cmd did not answer GET /v1/models within {} s: {} (its output: {})",
         options_.ready_timeout_s, command, log);
  }

  std::filesystem::path base_dir_, sft_dir_;
  FamilyTable table_;
  ServeOptions options_;
  pid_t pid_ = -1;
  std::filesystem::path scratch_model_;
  std::unique_ptr<backend::Backend> raw_, chat_;
};

}  // namespace

std::unique_ptr<CandidateBackends> make_embedded_candidates(const std::filesystem::path& base_dir,
                                                            const std::filesystem::path& sft_dir, const FamilyTable& table,
                                                            EmbeddedOptions options) {
  return std::make_unique<EmbeddedCandidates>(base_dir, sft_dir, table, options);
}

std::unique_ptr<CandidateBackends> make_served_candidates(const std::filesystem::path& base_dir,
                                                          const std::filesystem::path& sft_dir, const FamilyTable& table,
                                                          ServeOptions options) {
  return std::make_unique<ServedCandidates>(base_dir, sft_dir, table, std::move(options));
}

}  // namespace qk::sweep
