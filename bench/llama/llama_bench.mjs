// llama_bench.mjs: the same measurement as build/bench/prompt_bench, with llama.cpp (node-llama-cpp's
// prebuilt CPU binaries) on a GGUF: load (process start to a context ready for the first token), prefill of
// the prompt up to the first generated token, greedy decode in tokens per second, peak RSS. One JSON line.
//   node bench/llama/llama_bench.mjs MODEL.gguf --prompt-file ids.txt [--decode 64] [--threads 2]
import fs from "node:fs";
import process from "node:process";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const modelPath = args[0];
const prompt = fs.readFileSync(option("--prompt-file"), "utf8").trim().split(/\s+/).map(Number);
const decode = Number(option("--decode", "64"));
const threads = Number(option("--threads", "2"));

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: threads });
const model = await llama.loadModel({ modelPath, useMmap: true });
const context = await model.createContext({
  contextSize: prompt.length + decode + 16, sequences: 1, threads: { ideal: threads, min: threads },
});
const sequence = context.getSequence();
const loadSeconds = process.uptime();  // since the node process started

const tokens = [];
const stamps = [];
const cpuStamps = [];
const cpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const start = performance.now();
const cpuStart = cpuSeconds();
for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
  stamps.push(performance.now());
  cpuStamps.push(cpuSeconds());
  tokens.push(token);
  if (tokens.length >= decode) break;
}
const prefillSeconds = (stamps[0] - start) / 1000;
const decodeSeconds = (stamps[stamps.length - 1] - stamps[0]) / 1000;
const status = fs.readFileSync("/proc/self/status", "utf8");
const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024;
console.log(JSON.stringify({
  impl: "llama.cpp", gguf: modelPath, threads, prompt_tokens: prompt.length, load_s: loadSeconds,
  prefill_s: prefillSeconds, prefill_tok_s: prompt.length / prefillSeconds,
  decode_tok_s: (stamps.length - 1) / decodeSeconds, prefill_cpu_s: cpuStamps[0] - cpuStart,
  decode_cpu_s: cpuStamps[cpuStamps.length - 1] - cpuStamps[0], peak_rss_mb: hwm, tokens,
}));
await context.dispose();
await model.dispose();
