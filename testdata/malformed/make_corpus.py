#!/usr/bin/env python3
"""Writes the malformed-input corpus: one file per case under <parser>/, and expected.json giving,
for each, the error kind and a part of the message the parser must produce ("ok": must be accepted).

tests/faults/malformed_corpus_test.cpp feeds every case to its parser. Deterministic; rerun after
editing and commit the files with this script.
"""
import json
import pathlib
import shutil
import struct

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
cases = []


def case(parser, name, data, kind, message, why, **extra):
    path = HERE / parser / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    cases.append({"parser": parser, "file": f"{parser}/{name}", "kind": kind, "message": message, "why": why, **extra})


# ---------------------------------------------------------------- safetensors files
def st(header, data=b"", raw_header=None, length=None):
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    n = len(text) if length is None else length
    return struct.pack("<Q", n) + text + data


F32x2 = struct.pack("<2f", 1.0, 2.0)
good = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
S = "safetensors"
case(S, "valid.safetensors", st(good, F32x2), "ok", "", "control: a well-formed file")
case(S, "unicode_names.safetensors", st({"層.ü.权重.😀": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, F32x2), "ok", "",
     "non-ASCII tensor names are legal")
case(S, "empty.safetensors", b"", "Format", "too short for a safetensors header length", "zero-byte file (download never started)")
case(S, "truncated_length.safetensors", b"\x10\x00\x00", "Format", "too short for a safetensors header length", "cut inside the u64")
case(S, "truncated_header.safetensors", st(good, F32x2)[:20], "Format", "runs past the end", "cut inside the JSON header")
case(S, "truncated_data.safetensors", st(good, F32x2)[:-3], "Format", "past the end of the 5-byte data section", "cut inside the data")
case(S, "header_length_huge.safetensors", struct.pack("<Q", 2**63) + b"{}", "Format", "exceeds the 100000000 byte limit",
     "lying u64 length (would allocate 8 EiB)")
case(S, "header_length_short.safetensors", st(good, F32x2, length=10), "Format", "not valid JSON", "length cuts the JSON")
case(S, "trailing_bytes.safetensors", st(good, F32x2 + b"junk"), "Format", "trailing bytes", "data after the last tensor")
case(S, "gap.safetensors", st({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                                "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}, bytes(12)), "Format",
     "tensor 'b' starts at data offset 8 but the previous tensor ends at 4 (gap)", "unused bytes between tensors")
case(S, "overlap.safetensors", st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                    "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, bytes(8)), "Format",
     "(overlap)", "two tensors share bytes")
case(S, "same_range_twice.safetensors", st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                             "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, bytes(8)), "Format",
     "(overlap)", "aliasing: two names, one range")
case(S, "end_before_begin.safetensors", st({"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}, bytes(8)), "Format",
     "end before begin", "reversed offsets")
case(S, "offsets_past_end.safetensors", st({"a": {"dtype": "U8", "shape": [4096], "data_offsets": [0, 4096]}}, bytes(16)), "Format",
     "past the end of the 16-byte data section", "offsets beyond the file")
case(S, "lying_shape.safetensors", st({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, F32x2), "Format",
     "needs 12 bytes but data_offsets [0, 8] hold 8", "shape disagrees with offsets")
case(S, "lying_dtype.safetensors", st({"a": {"dtype": "F64", "shape": [2], "data_offsets": [0, 8]}}, F32x2), "Format",
     "needs 16 bytes", "dtype size disagrees with offsets")
case(S, "nan_length.safetensors", st(None, F32x2, raw_header=b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, NaN]}}'),
     "Format", "header is not valid JSON", "NaN is not JSON")
case(S, "float_offsets.safetensors", st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0.0, 8.0]}}, F32x2), "Format",
     "'data_offsets' must be two non-negative integers", "floats where integers belong")
case(S, "infinite_offset.safetensors", st(None, F32x2, raw_header=b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 1e400]}}'),
     "Format", "header is not valid JSON: [json.exception.out_of_range.406] number overflow", "1e400 (escaped as a nlohmann out_of_range: internal error)")
case(S, "negative_offset.safetensors", st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}}, F32x2), "Format",
     "'data_offsets' must be two non-negative integers", "negative offset")
case(S, "three_offsets.safetensors", st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 16]}}, F32x2), "Format",
     "'data_offsets' must be two non-negative integers", "wrong arity")
case(S, "huge_shape_overflow.safetensors", st({"a": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 8]}}, F32x2),
     "Format", "shape x dtype size overflows 64 bits", "element count overflows u64")
case(S, "huge_shape_entry.safetensors", st({"a": {"dtype": "F32", "shape": [2**63], "data_offsets": [0, 8]}}, F32x2), "Format",
     "shape entry too large", "dimension beyond int64")
case(S, "huge_shape_wraps_to_size.safetensors", st({"a": {"dtype": "U8", "shape": [2**32, 2**32, 8], "data_offsets": [0, 8]}}, F32x2),
     "Format", "overflows 64 bits", "product wraps modulo 2^64 to exactly the stored size")
case(S, "negative_shape.safetensors", st({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, F32x2), "Format",
     "shape entry -2 is not a non-negative integer", "negative dimension")
case(S, "string_shape.safetensors", st({"a": {"dtype": "F32", "shape": "2", "data_offsets": [0, 8]}}, F32x2), "Format",
     "missing or non-array 'shape'", "shape is not a list")
case(S, "unknown_dtype.safetensors", st({"a": {"dtype": "F128", "shape": [2], "data_offsets": [0, 8]}}, F32x2), "Format",
     "unknown dtype 'F128'", "dtype outside the format")
case(S, "missing_dtype.safetensors", st({"a": {"shape": [2], "data_offsets": [0, 8]}}, F32x2), "Format", "missing or non-string 'dtype'",
     "no dtype")
case(S, "duplicate_tensor.safetensors", st(None, F32x2 + F32x2, raw_header=b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
                                                                         b'"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}'),
     "Format", "key 'a' appears twice in the top-level object", "duplicate JSON key: which one is real?")
case(S, "duplicate_key_in_entry.safetensors", st(None, F32x2, raw_header=b'{"a": {"dtype": "F32", "dtype": "F64", "shape": [2], '
                                                                       b'"data_offsets": [0, 8]}}'),
     "Format", "key 'dtype' appears twice in 'a'", "duplicate key inside a tensor entry")
case(S, "header_not_object.safetensors", st([1, 2]), "Format", "header does not start with a JSON object", "a list, not an object")
case(S, "byte_order_mark.safetensors", st(None, raw_header="\ufeff{}".encode()), "Format", "header does not start with a JSON object",
     "UTF-8 BOM before the JSON")
case(S, "invalid_utf8_name.safetensors", st(None, F32x2, raw_header=b'{"a\xff": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}'),
     "Format", "header is not valid JSON", "name is not UTF-8")
case(S, "nul_padding.safetensors", st(None, F32x2, raw_header=json.dumps(good).encode() + b"\0\0\0"), "ok",
     "", "trailing NUL padding is tolerated like spaces by our reader")
case(S, "metadata_not_string.safetensors", st({"__metadata__": {"format": 1}, **good}, F32x2), "Format",
     "__metadata__['format'] is not a string", "metadata values are strings")
case(S, "metadata_not_object.safetensors", st({"__metadata__": "pt", **good}, F32x2), "Format", "__metadata__ is not an object",
     "metadata must be an object")
case(S, "entry_not_object.safetensors", st({"a": [0, 8]}, F32x2), "Format", "tensor 'a': entry is not a JSON object", "entry is a list")
case(S, "deeply_nested.safetensors", st(None, raw_header=b'{"a":' + b"[" * 20000 + b"]" * 20000 + b"}"), "Format",
     "entry is not a JSON object", "20000 nested lists: no stack overflow")

# ---------------------------------------------------------------- model.safetensors.index.json (llama_sharded shards beside it)
I = "index"
real_index = json.loads((ROOT / "testdata/checkpoints/llama_sharded/sft/model.safetensors.index.json").read_text())
wm = real_index["weight_map"]
names = sorted(wm)
shards = sorted(set(wm.values()))
def idx(weight_map, **top):
    return json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map, **top}, indent=1)
case(I, "valid.json", idx(wm), "ok", "", "control: the real index")
case(I, "not_json.json", '{"weight_map": {', "Format", "is not valid JSON", "truncated download")
case(I, "no_weight_map.json", '{"metadata": {}}', "Format", "missing 'weight_map' object", "no weight_map")
case(I, "weight_map_list.json", '{"weight_map": []}', "Format", "missing 'weight_map' object", "weight_map is a list")
case(I, "shard_not_string.json", idx({**wm, names[0]: 3}), "Format", f"weight_map['{names[0]}'] is not a file name", "number for a file")
case(I, "path_traversal.json", idx({**wm, names[0]: "../../sft/" + shards[0]}), "Format", "is not a file in the directory",
     "escapes the checkpoint directory")
case(I, "absolute_path.json", idx({**wm, names[0]: "/etc/passwd"}), "Format", "is not a file in the directory", "absolute path")
case(I, "dot.json", idx({**wm, names[0]: "."}), "Format", "is not a file in the directory", "the directory itself")
case(I, "empty_name.json", idx({**wm, names[0]: ""}), "Io", "is not a regular file", "empty file name is the directory")
case(I, "missing_shard.json", idx({**wm, names[0]: "model-00009-of-00009.safetensors"}), "Io",
     "model-00009-of-00009.safetensors listed in the index does not exist", "half-downloaded: a shard is missing")
case(I, "wrong_shard.json", idx({**wm, names[0]: [s for s in shards if s != wm[names[0]]][0]}), "Format",
     f"tensor '{names[0]}' is listed for", "index points at the wrong shard")
case(I, "tensor_not_listed.json", idx({k: v for k, v in wm.items() if k != names[0]}), "Format",
     f"tensor '{names[0]}' stored in {wm[names[0]]} is missing from the index", "stored tensor absent from the index")
case(I, "phantom_tensor.json", idx({**wm, "model.layers.99.ghost.weight": shards[0]}), "Format",
     "tensor 'model.layers.99.ghost.weight' is listed for", "index lists a tensor no shard holds")
dup = idx(wm)[:-3] + f',\n  "{names[0]}": "{[s for s in shards if s != wm[names[0]]][0]}"\n }}\n}}'
case(I, "duplicate_tensor_key.json", dup, "Format", f"key '{names[0]}' appears twice in 'weight_map'", "duplicate key: two shards claimed")
case(I, "unicode_shard_name.json", idx({**wm, names[0]: "模型-😀.safetensors"}), "Io", "模型-😀.safetensors listed in the index does not exist",
     "non-ASCII shard name is reported as is")

# ---------------------------------------------------------------- config.json (through the family table, into a plan)
C = "config"
def cfg(family, **changes):
    c = json.loads((ROOT / "testdata/checkpoints" / family / "base/config.json").read_text())
    for k, v in changes.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return json.dumps(c, indent=1)
qn = json.loads((ROOT / "testdata/checkpoints/qwen3_next/base/config.json").read_text())
n = qn["num_hidden_layers"]
case(C, "valid_qwen3_next.json", cfg("qwen3_next"), "ok", "", "control", family="qwen3_next")
case(C, "not_json.json", '{"model_type": "qwen3_next",', "Format", "is not valid JSON", "truncated", family="qwen3_next")
case(C, "not_object.json", '["qwen3_next"]', "Format", "is not a JSON object", "a list", family="qwen3_next")
case(C, "no_model_type.json", cfg("qwen3_next", model_type=None), "Format", "missing string field 'model_type'", "no model_type",
     family="qwen3_next")
case(C, "model_type_number.json", cfg("qwen3_next", model_type=7), "Format", "missing string field 'model_type'", "model_type 7",
     family="qwen3_next")
case(C, "unknown_model_type.json", cfg("qwen3_next", model_type="gpt-ünknown"), "Unsupported",
     "model_type 'gpt-ünknown' is not in the architecture table", "unknown family", family="qwen3_next")
case(C, "no_layer_count.json", cfg("qwen3_next", num_hidden_layers=None), "ok", "", "layer count missing: taken from layer_types",
     family="qwen3_next")
case(C, "layer_count_string.json", cfg("qwen3_next", num_hidden_layers=str(n)), "ok", "", "\"4\" for 4: layer count taken from layer_types",
     family="qwen3_next")
case(C, "layer_count_negative.json", cfg("qwen3_next", num_hidden_layers=-4), "Format", "layer count -4 is out of range",
     "negative layers", family="qwen3_next")
case(C, "layer_count_huge.json", cfg("qwen3_next", num_hidden_layers=10**15), "Format", "is out of range", "10^15 layers",
     family="qwen3_next")
case(C, "layer_count_1e300.json", cfg("qwen3_next", num_hidden_layers=1e300), "Format", "is 1e+300, out of range",
     "1e300 layers: past what an int64 holds (found by fuzz_config_profile)", family="qwen3_next")
case(C, "layer_index_int64_min.json",
     cfg("kimi_linear", layer_types=None, linear_attn_config={"full_attn_layers": [-2**63, 4]}), "Format",
     "'linear_attn_config.full_attn_layers' names layer -9223372036854775808 but the model has 4 layers",
     "a 1-based layer index at the int64 limit (found by fuzzing: subtracting the base overflowed)", family="kimi_linear")
case(C, "layer_count_fraction.json", cfg("qwen3_next", num_hidden_layers=n + 0.5), "Format", "not a whole number", "4.5 layers",
     family="qwen3_next")
case(C, "layer_types_short.json", cfg("qwen3_next", layer_types=qn["layer_types"][:-1]), "Format",
     f"'layer_types' must list {n} layer types, one per layer, but has {n - 1}", "list shorter than the layer count",
     family="qwen3_next")
case(C, "layer_type_unknown.json", cfg("qwen3_next", layer_types=["full_attention"] * (n - 1) + ["teleport"]), "Format",
     f"layer_types[{n - 1}] = 'teleport' is not a known layer type", "unknown layer kind", family="qwen3_next")
case(C, "layer_types_numbers.json", cfg("qwen3_next", layer_types=list(range(n))), "Format", "layer_types", "numbers, not names",
     family="qwen3_next")
case(C, "layer_count_more_than_tensors.json", cfg("qwen3_next", num_hidden_layers=n + 4, layer_types=qn["layer_types"] + ["full_attention"] * 4),
     "Mismatch", "", "config promises layers the shards do not hold", family="qwen3_next")
case(C, "heads_zero.json", cfg("qwen3_next", num_attention_heads=0), "Format", "", "zero heads", family="qwen3_next")
case(C, "heads_negative.json", cfg("qwen3_next", num_attention_heads=-4), "Format", "-4 blocks of 16 rows",
     "-4 heads: no blocks used to mean the whole tensor, gate rows and all (a silent wrong restore)", family="qwen3_next")
case(C, "heads_huge.json", cfg("qwen3_next", num_attention_heads=10**15), "Mismatch",
     "puts 1000000000000000 blocks of", "10^15 heads: must fail before listing their rows (found by fuzzing: it filled memory)",
     family="qwen3_next")
case(C, "heads_past_int64.json", cfg("qwen3_next", num_attention_heads=10**20), "Format", "is 1e+20, out of range",
     "10^20 heads: past what an int64 holds", family="qwen3_next")
case(C, "head_dim_huge.json", cfg("qwen3_next", head_dim=2**40), "Mismatch", "", "head_dim 2^40", family="qwen3_next")
case(C, "nan_field.json", cfg("qwen3_next").replace('"head_dim": ', '"head_dim": NaN, "x": '), "Format", "is not valid JSON",
     "NaN is not JSON", family="qwen3_next")
case(C, "duplicate_model_type.json", '{"model_type": "qwen3_next", ' + cfg("qwen3_next")[1:].replace('"model_type": "qwen3_next"', '"model_type": "llama"'),
     "Format", "key 'model_type' appears twice in the top-level object", "duplicate key: which family?", family="qwen3_next")

# ---------------------------------------------------------------- tokenizer.json
T = "tokenizer"
def tok(**changes):
    t = {"version": "1.0", "added_tokens": [], "normalizer": None, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False,
         "trim_offsets": True, "use_regex": True}, "post_processor": None, "decoder": {"type": "ByteLevel"},
         "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
                   "fuse_unk": False, "byte_fallback": False, "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3}, "merges": ["a b"]}}
    for path, v in changes.items():
        node = t
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = v
    return json.dumps(t, ensure_ascii=False)
case(T, "valid.json", tok(), "ok", "", "control")
case(T, "unicode_vocab.json", tok(model__vocab={"a": 0, "b": 1, "ab": 2, "Ġ": 3, "日本": 4, "😀": 5}), "ok", "", "non-ASCII tokens")
case(T, "not_json.json", tok()[:40], "Format", "not valid JSON", "truncated")
case(T, "no_model.json", '{"version": "1.0"}', "Format", "missing field 'model'", "no model")
case(T, "wordpiece.json", tok(model__type="WordPiece"), "Unsupported", "model type 'WordPiece' is not supported", "other model")
case(T, "merge_unknown_token.json", tok(model__merges=["a z"]), "Format", "merges[0] uses token 'z' that is not in the vocab", "merge of unknown")
case(T, "merge_result_missing.json", tok(model__merges=["b a"]), "Format", "merges[0] makes 'ba', which is not in the vocab", "merge result absent")
case(T, "merge_one_token.json", tok(model__merges=["ab"]), "Format", "merges[0] \"ab\" is not two tokens separated by one space", "malformed merge")
case(T, "vocab_id_string.json", tok(model__vocab={"a": "0"}), "Format", "vocab entry 'a' needs an id", "id as string")
case(T, "vocab_id_negative.json", tok(model__vocab={"a": -1, "b": 1, "ab": 2}), "Format", "vocab", "negative id")
case(T, "vocab_id_huge.json", tok(model__vocab={"a": 0, "b": 1, "ab": 2, "Ġ": 2**40}), "Format", "vocab", "id 2^40 (would size a table)")
case(T, "vocab_duplicate_id.json", tok(model__vocab={"a": 0, "b": 0, "ab": 2}), "ok", "", "two tokens, one id: loaded, as tokenizers does")
case(T, "vocab_duplicate_key.json", tok().replace('"a": 0,', '"a": 7, "a": 0,'), "ok", "",
     "duplicate JSON key: the last wins, as in the tokenizers library (serde_json maps)")
case(T, "added_token_no_content.json", tok(added_tokens=[{"id": 9, "special": True}]), "Format", "missing field 'content'", "bad added token")
case(T, "bad_regex.json", tok(pre_tokenizer={"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated", "invert": False}),
     "Unsupported", "(unclosed", "regex does not compile")
case(T, "unknown_normalizer.json", tok(normalizer={"type": "Frobnicate"}), "Unsupported", "Frobnicate", "unknown component")
case(T, "dropout.json", tok(model__dropout=0.1), "Unsupported", "BPE dropout makes encoding random", "random tokenizer")

# ---------------------------------------------------------------- HTTP replies to the NIAH client (completions API)
H = "http"
def reply(status, body, headers=(), length=None):
    b = body.encode() if isinstance(body, str) else body
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n" + "".join(f"{h}\r\n" for h in headers)
    return head.encode() + f"Content-Length: {len(b) if length is None else length}\r\n\r\n".encode() + b
ok_body = json.dumps({"choices": [{"text": " 42", "finish_reason": "stop"}], "usage": {"prompt_tokens": 5, "completion_tokens": 1}})
case(H, "valid.http", reply("200 OK", ok_body), "ok", "", "control")
case(H, "not_json.http", reply("200 OK", "<html>502 Bad Gateway</html>"), "Network", "malformed reply (not JSON)", "a proxy's HTML page")
case(H, "no_choices.http", reply("200 OK", '{"object": "text_completion"}'), "Network", "malformed reply (no choices)", "no choices")
case(H, "empty_choices.http", reply("200 OK", '{"choices": []}'), "Network", "malformed reply (no choices)", "empty choices")
case(H, "choice_without_text.http", reply("200 OK", '{"choices": [{"message": {"content": "42"}}]}'), "Network",
     "malformed reply (choice without text)", "chat reply to a completions request")
case(H, "text_not_string.http", reply("200 OK", '{"choices": [{"text": 42}]}'), "Network", "malformed reply (choice without text)",
     "number for text")
case(H, "usage_tokens_string.http", reply("200 OK", '{"choices": [{"text": "42"}], "usage": {"prompt_tokens": "5"}}'), "ok", "",
     "token count as a string: usage is informational, read as unknown (was an escaping nlohmann type_error)")
case(H, "usage_tokens_huge.http", reply("200 OK", '{"choices": [{"text": "42"}], "usage": {"prompt_tokens": 1e300}}'), "ok", "",
     "token count beyond int: read as unknown (was a float-to-int overflow, undefined behaviour)")
case(H, "body_truncated.http", reply("200 OK", ok_body, length=len(ok_body) + 100), "Network", "no reply", "connection closed mid-body")
case(H, "status_garbage.http", b"HTTP/1.1 abc\r\n\r\n", "Network", "no reply", "status line without a code")
case(H, "not_http.http", b"SSH-2.0-OpenSSH_9.2\r\n", "Network", "no reply", "wrong service on the port")
case(H, "empty.http", b"", "Network", "no reply", "connection closed at once")
case(H, "client_error.http", reply("400 Bad Request", '{"error": {"message": "prompt too long"}}'), "Network",
     "refused the request: HTTP 400", "server refuses")
case(H, "server_busy.http", reply("503 Service Unavailable", "overloaded", ["Retry-After: 1e308"]), "Network",
     "failed after 1 attempts: HTTP 503", "5xx with an absurd Retry-After")
case(H, "retry_after_nan.http", reply("503 Service Unavailable", "overloaded", ["Retry-After: nan"]), "Network",
     "failed after 2 attempts: HTTP 503", "Retry-After: nan (was a NaN sleep, undefined behaviour)", retries=1)
case(H, "chunked_lying.http", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n{}", "Network", "no reply",
     "chunk size 2^64-1")
case(H, "unicode_text.http", reply("200 OK", json.dumps({"choices": [{"text": "答案是 😀"}]}, ensure_ascii=False)), "ok", "",
     "non-ASCII answer")

(HERE / "expected.json").write_text(json.dumps({"cases": cases}, indent=1, ensure_ascii=False) + "\n")
print(f"{len(cases)} cases")
