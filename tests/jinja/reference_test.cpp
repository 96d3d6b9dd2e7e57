// Real chat templates (testdata/jinja/templates, taken from npm packages) x a suite of conversations
// (testdata/jinja/conversations.json), rendered by our interpreter and by the reference,
// @huggingface/jinja run live under node (tests/npm, installed by scripts/test.sh): the texts
// must be byte-identical, and where the reference raises (a template's raise_exception, an
// unsupported construct) ours must raise too.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "jinja/template.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

const fs::path source_dir = QK_SOURCE_DIR;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool node_available() { return std::system("command -v node >/dev/null 2>&1") == 0; }

std::string run_node(const std::string& script, const fs::path& input) {
  const std::string command = "node " + script + " < " + input.string() + " 2>&1";
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[65536];
  for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  pclose(pipe);
  return out;
}

struct Case {
  std::string template_name, conversation;
  json context;
};

// The variables transformers' apply_chat_template passes: messages, tools (None when there are none),
// add_generation_prompt, the special tokens, then the caller's extra keyword arguments.
json make_context(const json& conversation, bool add_generation_prompt, const json& tokens) {
  json context;
  context["messages"] = conversation["messages"];
  context["tools"] = conversation.contains("tools") ? conversation["tools"] : json(nullptr);
  context["add_generation_prompt"] = add_generation_prompt;
  context["bos_token"] = tokens["bos_token"];
  context["eos_token"] = tokens["eos_token"];
  if (conversation.contains("kwargs"))
    for (const auto& [k, v] : conversation["kwargs"].items()) context[k] = v;
  return context;
}

TEST(JinjaReference, RealTemplatesRenderByteIdenticallyToHuggingfaceJinja) {
  if (!node_available()) GTEST_SKIP() << "node is not installed: the reference (@huggingface/jinja) cannot run";
  const fs::path npm_dir = source_dir / "tests/npm";
  ASSERT_TRUE(fs::exists(npm_dir / "node_modules/@huggingface/jinja/package.json"))
      << "@huggingface/jinja is not installed: run scripts/test.sh, or npm ci --prefix " << npm_dir.string();

  const json templates = json::parse(read_file(source_dir / "testdata/jinja/templates/templates.json"));
  const json conversations = json::parse(read_file(source_dir / "testdata/jinja/conversations.json"));
  std::map<std::string, std::string> sources;
  std::vector<Case> cases;
  json input = json::array();
  for (const auto& t : templates) {
    const std::string name = t["name"];
    sources[name] = read_file(source_dir / "testdata/jinja/templates" / (name + ".jinja"));
    for (const auto& c : conversations)
      for (const bool agp : c["add_generation_prompt"]) {
        Case k{name, c["name"].get<std::string>() + (agp ? "+gen" : ""), make_context(c, agp, t)};
        input.push_back({{"template", sources[name]}, {"context", k.context}});
        cases.push_back(std::move(k));
      }
  }
  const fs::path input_file = fs::temp_directory_path() / ("qk_jinja_cases_" + std::to_string(::getpid()) + ".json");
  std::ofstream(input_file, std::ios::binary) << input.dump();
  const std::string output = run_node((npm_dir / "jinja_render.mjs").string(), input_file);
  fs::remove(input_file);
  json reference;
  try {
    reference = json::parse(output);
  } catch (const json::exception&) {
    FAIL() << "the reference renderer failed:\n" << output.substr(0, 4000);
  }
  ASSERT_EQ(reference.size(), cases.size());

  std::map<std::string, int> rendered, raised;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& k = cases[i];
    SCOPED_TRACE(k.template_name + " x " + k.conversation);
    std::string ours, our_error;
    try {
      ours = qk::jinja::Template(sources[k.template_name], k.template_name + ".jinja").render(k.context);
    } catch (const qk::Error& e) {
      our_error = e.what();
    }
    if (reference[i].contains("error")) {
      EXPECT_FALSE(our_error.empty()) << "the reference raised \"" << reference[i]["error"].get<std::string>()
                                      << "\" but ours rendered:\n" << ours;
      ++raised[k.template_name];
    } else {
      EXPECT_EQ(our_error, "") << "the reference rendered:\n" << reference[i]["text"].get<std::string>();
      EXPECT_EQ(ours, reference[i]["text"].get<std::string>());
      ++rendered[k.template_name];
    }
  }
  int templates_with_ten = 0;
  std::string summary;
  for (const auto& [name, n] : rendered) {
    summary += name + ": " + std::to_string(n) + " rendered, " + std::to_string(raised[name]) + " raised\n";
    templates_with_ten += n >= 10;
  }
  std::printf("%s", summary.c_str());
  EXPECT_GE(templates_with_ten, 6) << "fewer than 6 templates render at least 10 cases:\n" << summary;
}

}  // namespace
