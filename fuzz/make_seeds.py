#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses into fuzz/corpus/<harness>/ (deterministic).

Seeds are small valid inputs of each parser, taken from the test data where it is small and
shrunk (tokenizers: the first few hundred vocabulary entries and the merges among them) where it
is not, plus hand-made edge cases. libFuzzer mutates from these; keeping them small keeps the
exec rate high.
"""
import json
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"


def put(harness, name, data):
    d = OUT / harness
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape, bytes)."""
    header, data, offset = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"))
    if pad:
        text += " " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text.encode())) + text.encode() + data


def safetensors_seeds():
    f32 = struct.pack("<4f", 1.0, -2.0, float("inf"), float("nan"))
    put("safetensors", "two_tensors", safetensors([("a.weight", "F32", [2, 2], f32), ("b", "BF16", [3], b"\x80\x3f\x00\x40\xc0\x7f")],
                                                  {"format": "pt"}))
    sizes = {"BOOL": 1, "U8": 1, "I8": 1, "U16": 2, "I16": 2, "U32": 4, "I32": 4, "U64": 8, "I64": 8, "F8_E4M3": 1,
             "F8_E5M2": 1, "F16": 2, "BF16": 2, "F32": 4, "F64": 8}
    put("safetensors", "every_dtype", safetensors([(f"t.{k}", k, [2], bytes(range(2 * v))) for k, v in sizes.items()]))
    put("safetensors", "scalar_and_empty", safetensors([("scalar", "F32", [], f32[:4]), ("empty", "F16", [0, 4], b"")]))
    put("safetensors", "unpadded_unicode", safetensors([("layer.ü.权重", "F16", [1, 2], b"\x00\x3c\x00\xbc")], pad=False))
    put("safetensors", "empty_header", safetensors([]))
    real = ROOT / "testdata/checkpoints/llama_sharded/sft/model-00003-of-00003.safetensors"
    put("safetensors", "llama_shard", real.read_bytes())


def index_seeds():
    real = ROOT / "testdata/checkpoints/qwen3_next_sharded/sft/model.safetensors.index.json"
    put("index_json", "qwen3_next_sharded", real.read_bytes())
    index = json.loads(real.read_text())
    first = sorted(set(index["weight_map"].values()))[0]
    put("index_json", "one_shard_listed", json.dumps({"metadata": {"total_size": 1},
                                                      "weight_map": {k: v for k, v in index["weight_map"].items() if v == first}}))
    put("index_json", "empty_map", '{"weight_map": {}}')


def config_seeds():
    seen = set()
    for config in sorted((ROOT / "testdata/checkpoints").glob("*/base/config.json")):
        text = config.read_text()
        if text in seen:
            continue
        seen.add(text)
        put("config_profile", config.parent.parent.name, text)


def shrink_tokenizer(doc, keep=300):
    model = doc.get("model", {})
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        model["vocab"] = {t: i for t, i in vocab.items() if i < keep}
        kept = model["vocab"]
        merges = []
        for m in model.get("merges", []):
            left, right = m.split(" ", 1) if isinstance(m, str) else m
            if left in kept and right in kept and left + right in kept:
                merges.append(m)
        model["merges"] = merges
    doc["added_tokens"] = [t for t in doc.get("added_tokens", []) if t["id"] < keep + 5]
    return doc


def tokenizer_seeds():
    for name in ["gpt2", "llama2", "llama3", "qwen2", "gemma", "mistral", "roberta", "sp_unk"]:
        doc = json.loads((ROOT / "testdata/tokenizer" / f"{name}.json").read_text())
        put("tokenizer_json", name, json.dumps(shrink_tokenizer(doc), ensure_ascii=False))
    put("tokenizer_json", "dense_tied", (ROOT / "testdata/engine/dense_tied/tokenizer.json").read_bytes())


def http_seeds():
    def reply(status, body, headers=()):
        head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        head += "".join(f"{h}\r\n" for h in headers)
        return head + f"Content-Length: {len(body.encode())}\r\n\r\n" + body
    completion = json.dumps({"id": "x", "object": "text_completion", "choices": [{"index": 0, "text": " 12345", "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 10, "completion_tokens": 2}})
    chat = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": "12345"}, "finish_reason": "length"}],
                       "usage": {"prompt_tokens": 10, "completion_tokens": 2}})
    put("http_reply", "completion_ok", "\x00" + reply("200 OK", completion))
    put("http_reply", "chat_ok", "\x01" + reply("200 OK", chat))
    put("http_reply", "busy_retry_after", "\x00" + reply("429 Too Many Requests", '{"error":"busy"}', ["Retry-After: 3"]))
    put("http_reply", "server_error", "\x01" + reply("503 Service Unavailable", "down"))
    put("http_reply", "bad_request", "\x00" + reply("400 Bad Request", '{"error":{"message":"too long"}}'))
    body = completion.encode()
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    put("http_reply", "chunked", b"\x00" + chunked)


def request_seeds():
    # Request bodies as the openai client and curl users send them, one per field the server reads.
    bodies = {
        "completion": {"model": "qk", "prompt": "The needle is", "max_tokens": 8, "temperature": 0},
        "completion_tokens": {"prompt": [1, 2, 3], "logprobs": 2, "stop": ["\n", "."], "seed": 7, "n": 2, "best_of": 2},
        "completion_stream": {"prompt": ["one string"], "stream": True, "stream_options": {"include_usage": True}, "echo": True},
        "chat": {"model": "qk", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
                 "max_completion_tokens": 16, "top_p": 0.9, "top_k": -1, "logprobs": True, "top_logprobs": 3},
        "chat_parts": {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                                    {"role": "assistant", "content": "The answer"}],
                       "continue_final_message": True, "add_generation_prompt": False,
                       "chat_template_kwargs": {"enable_thinking": False}, "response_format": {"type": "text"},
                       "tools": [], "tool_choice": "none", "metadata": {"k": "v"}, "modalities": ["text"]},
        "penalties": {"messages": [{"role": "user", "content": None}], "frequency_penalty": 0.5, "presence_penalty": -0.5,
                      "ignore_eos": True, "user": "u", "logit_bias": {}, "store": False, "parallel_tool_calls": True},
    }
    for name, body in bodies.items():
        put("openai_request", name, json.dumps(body))


def reply_seeds():
    # Model replies as the eval and NIAH judge them (reply NUL reference), one per extraction rule and
    # normalisation the answer table of tests/eval covers, plus cut-off and reasoning replies.
    replies = [
        ("So she has 42 left. The answer is 42.", "42"),
        ("3 + 4 = 7\n#### 7", "7"),
        (r"so we get \boxed{\frac{1}{2}}", "0.5"),
        (r"\boxed{\dfrac{1}{2}} and \fbox{x = 3}", r"\frac12"),
        ("The answer is $1,234.00", "1234"),
        (r"The answer is 3 \text{ cm}", "3"),
        ("<think>long reasoning 5 + 5</think>The answer is 10%.", "10"),
        ("<think>cut off while thinking", "1"),
        (r"\boxed{(1, 2)}", r"\{1,2\}"),
        (r"\boxed{\left( 3, \sqrt{2} \right)}", r"(3,\sqrt2)"),
        ("The special magic number for long-context is: 7216538.", "7216538"),
        (r"\boxed{ \boxed{ {{{ unbalanced", "x"),
        ("The answer is \u20ac20. Answer: 1/2", "0.5"),
    ]
    for i, (reply, gold) in enumerate(replies):
        put("reply_scoring", f"reply_{i:02d}", reply.encode() + b"\0" + gold.encode())


def jinja_seeds():
    # The real chat templates of the reference test, as they are.
    for path in sorted((ROOT / "testdata" / "jinja" / "templates").glob("*.jinja")):
        put("jinja_template", path.name, path.read_bytes())


if __name__ == "__main__":
    safetensors_seeds()
    index_seeds()
    config_seeds()
    tokenizer_seeds()
    http_seeds()
    request_seeds()
    reply_seeds()
    jinja_seeds()
    for d in sorted(OUT.iterdir()):
        files = list(d.iterdir())
        print(f"{d.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")
