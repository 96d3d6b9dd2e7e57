// The official `openai` npm client against a running `qkrestore serve` (started by
// tests/server/openai_npm_test.cpp, which passes QK_BASE_URL, QK_API_KEY, QK_MODEL and QK_SERVER_PID):
// the API key (401 without it), every route and option the server supports, the 400s for what it does
// not, and a soak of streaming clients of which half hang up mid-stream.
// Run: node tests/npm/openai_client_test.mjs (node:test, exit 1 on failure).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import OpenAI from 'openai';

const baseURL = process.env.QK_BASE_URL;
const model = process.env.QK_MODEL;
const serverPid = process.env.QK_SERVER_PID;
const apiKey = process.env.QK_API_KEY;
assert.ok(baseURL && model && serverPid && apiKey, 'QK_BASE_URL, QK_MODEL, QK_SERVER_PID and QK_API_KEY must be set');
const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey, maxRetries: 0, timeout: 60_000 });

const chatMessages = [
  { role: 'system', content: 'You answer briefly.' },
  { role: 'user', content: 'What is 3 plus 4?' },
];

// Streams a request; returns the text (per choice), logprob entries, finish reasons, usage and chunks.
async function collect(stream, chat) {
  const out = { text: [], logprobs: [], finish: [], usage: null, chunks: [] };
  for await (const chunk of stream) {
    out.chunks.push(chunk);
    if (chunk.usage) out.usage = chunk.usage;
    for (const c of chunk.choices) {
      out.text[c.index] ??= '';
      out.logprobs[c.index] ??= [];
      out.text[c.index] += chat ? (c.delta.content ?? '') : c.text;
      if (c.logprobs) {
        if (chat) out.logprobs[c.index].push(...c.logprobs.content);
        else
          c.logprobs.tokens.forEach((token, i) =>
            out.logprobs[c.index].push({
              token,
              logprob: c.logprobs.token_logprobs[i],
              top: c.logprobs.top_logprobs[i],
              offset: c.logprobs.text_offset[i],
            }),
          );
      }
      if (c.finish_reason) out.finish[c.index] = c.finish_reason;
    }
  }
  return out;
}

function completionLogprobEntries(logprobs) {
  return logprobs.tokens.map((token, i) => ({
    token,
    logprob: logprobs.token_logprobs[i],
    top: logprobs.top_logprobs[i],
    offset: logprobs.text_offset[i],
  }));
}

async function expectBadRequest(promise, field) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof OpenAI.BadRequestError, `expected a 400, got ${error}`);
    assert.equal(error.status, 400);
    assert.equal(error.param, field);
    assert.match(error.message, new RegExp(field));
    return true;
  });
}

test('a wrong API key is a 401 AuthenticationError in OpenAI\'s error shape; the right one is served', async () => {
  const stranger = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: `${apiKey}-wrong`, maxRetries: 0, timeout: 60_000 });
  for (const request of [
    () => stranger.models.list(),
    () => stranger.completions.create({ model, prompt: 'x', max_tokens: 1 }),
    () => stranger.chat.completions.create({ model, messages: chatMessages, max_tokens: 1 }),
  ]) {
    await assert.rejects(request(), (error) => {
      assert.ok(error instanceof OpenAI.AuthenticationError, `expected a 401, got ${error}`);
      assert.equal(error.status, 401);
      assert.equal(error.code, 'invalid_api_key');
      assert.equal(error.type, 'invalid_request_error');
      return true;
    });
  }
  const res = await fetch(`${baseURL}/v1/models`);  // no key at all
  assert.equal(res.status, 401);
  assert.equal((await res.json()).error.code, 'invalid_api_key');
  assert.equal((await client.models.list()).data[0].id, model);
});

test('models.list and models.retrieve', async () => {
  const list = [];
  for await (const m of client.models.list()) list.push(m);
  assert.deepEqual(list.map((m) => m.id), [model]);
  const one = await client.models.retrieve(model);
  assert.equal(one.id, model);
  assert.equal(one.object, 'model');
  await assert.rejects(client.models.retrieve('no-such-model'), (error) => {
    assert.ok(error instanceof OpenAI.NotFoundError);
    assert.equal(error.code, 'model_not_found');
    return true;
  });
});

test('completions: greedy, then streamed to the same text with usage last', async () => {
  const request = { model, prompt: 'In the beginning', max_tokens: 24, temperature: 0 };
  const whole = await client.completions.create(request);
  assert.equal(whole.object, 'text_completion');
  assert.ok(whole.choices[0].text.length > 0);
  assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);
  const streamed = await collect(
    await client.completions.create({ ...request, stream: true, stream_options: { include_usage: true } }),
    false,
  );
  assert.equal(streamed.text[0], whole.choices[0].text);
  assert.equal(streamed.finish[0], whole.choices[0].finish_reason);
  assert.deepEqual(streamed.usage, whole.usage);
  const last = streamed.chunks.at(-1);
  assert.deepEqual(last.choices, []);
  // Stop strings: cut before the stop, never a part of it streamed.
  const stop = whole.choices[0].text.slice(5, 7);
  const cut = await client.completions.create({ ...request, stop: [stop] });
  assert.equal(cut.choices[0].text, whole.choices[0].text.slice(0, whole.choices[0].text.indexOf(stop)));
  const cutStreamed = await collect(await client.completions.create({ ...request, stop: [stop], stream: true }), false);
  assert.equal(cutStreamed.text[0], cut.choices[0].text);
  // echo repeats the prompt first.
  const echoed = await client.completions.create({ ...request, echo: true });
  assert.equal(echoed.choices[0].text, request.prompt + whole.choices[0].text);
  const echoStreamed = await collect(await client.completions.create({ ...request, echo: true, stream: true }), false);
  assert.equal(echoStreamed.text[0], echoed.choices[0].text);
});

test('chat: greedy, then streamed (role first, content deltas, finish) to the same message', async () => {
  const request = { model, messages: chatMessages, max_tokens: 32, temperature: 0 };
  const whole = await client.chat.completions.create(request);
  assert.equal(whole.object, 'chat.completion');
  assert.equal(whole.choices[0].message.role, 'assistant');
  assert.ok(whole.choices[0].message.content.length > 0);
  const streamed = await collect(
    await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } }),
    true,
  );
  assert.deepEqual(streamed.chunks[0].choices[0].delta, { role: 'assistant', content: '' });
  assert.equal(streamed.chunks[0].object, 'chat.completion.chunk');
  assert.equal(streamed.text[0], whole.choices[0].message.content);
  assert.equal(streamed.finish[0], whole.choices[0].finish_reason);
  assert.deepEqual(streamed.usage, whole.usage);
  // The client's own stream helper assembles the same message.
  const runner = client.chat.completions.stream({ ...request });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.content, whole.choices[0].message.content);
});

test('completions logprobs: k alternatives, the same streamed, probabilities that sum to at most 1', async () => {
  const request = { model, prompt: 'And God said', max_tokens: 12, temperature: 0, logprobs: 5 };
  const whole = await client.completions.create(request);
  const entries = completionLogprobEntries(whole.choices[0].logprobs);
  assert.equal(entries.length, whole.usage.completion_tokens);
  let previousOffset = 0;
  for (const e of entries) {
    assert.ok(e.logprob <= 0);
    const alternatives = Object.values(e.top);
    assert.ok(alternatives.length >= 1 && alternatives.length <= 6);
    const mass = alternatives.reduce((sum, lp) => sum + Math.exp(lp), 0);
    assert.ok(mass <= 1 + 1e-5, `top_logprobs mass ${mass}`);
    // Greedy: the sampled token is the most likely one.
    assert.ok(Math.abs(e.logprob - Math.max(...alternatives)) < 1e-6);
    assert.ok(e.offset >= previousOffset);
    previousOffset = e.offset;
  }
  assert.equal(entries.map((e) => e.token).join(''), whole.choices[0].text);
  const streamed = await collect(await client.completions.create({ ...request, stream: true }), false);
  assert.deepEqual(streamed.logprobs[0], entries);
});

test('chat logprobs: logprobs + top_logprobs, the same streamed', async () => {
  const request = { model, messages: chatMessages, max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 3 };
  const whole = await client.chat.completions.create(request);
  const content = whole.choices[0].logprobs.content;
  assert.equal(content.length, whole.usage.completion_tokens);
  for (const t of content) {
    assert.equal(t.top_logprobs.length, 3);
    assert.ok(t.logprob <= 0);
    assert.ok(Math.abs(t.logprob - t.top_logprobs[0].logprob) < 1e-6);  // greedy
    const mass = t.top_logprobs.reduce((sum, a) => sum + Math.exp(a.logprob), 0);
    assert.ok(mass <= 1 + 1e-5);
    assert.deepEqual(t.bytes, [...Buffer.from(t.token, 'utf8')]);
  }
  const streamed = await collect(await client.chat.completions.create({ ...request, stream: true }), true);
  assert.deepEqual(streamed.logprobs[0], content);
  // Plain requests say null.
  const plain = await client.chat.completions.create({ ...request, logprobs: false, top_logprobs: undefined });
  assert.equal(plain.choices[0].logprobs, null);
});

test('n choices: identical when greedy, different draws when sampled; a seed reproduces them', async () => {
  const greedy = await client.chat.completions.create({ model, messages: chatMessages, max_tokens: 10, temperature: 0, n: 3 });
  assert.equal(greedy.choices.length, 3);
  assert.deepEqual(greedy.choices.map((c) => c.index), [0, 1, 2]);
  assert.ok(greedy.choices.every((c) => c.message.content === greedy.choices[0].message.content));
  const sampled = { model, prompt: 'The', max_tokens: 16, temperature: 1.2, n: 4, seed: 1234 };
  const a = await client.completions.create(sampled);
  const b = await client.completions.create(sampled);
  assert.deepEqual(a.choices.map((c) => c.text), b.choices.map((c) => c.text));
  assert.ok(new Set(a.choices.map((c) => c.text)).size > 1, 'sampled choices all equal');
  const c = await client.completions.create({ ...sampled, seed: 99 });
  assert.notDeepEqual(c.choices.map((x) => x.text), a.choices.map((x) => x.text));
  // Streamed n choices carry their index and assemble to the same draws.
  const streamed = await collect(await client.completions.create({ ...sampled, stream: true }), false);
  assert.deepEqual(streamed.text, a.choices.map((x) => x.text));
  // Chat, seeded, sampled with top_p / top_k and penalties: reproducible too.
  const chat = { model, messages: chatMessages, max_tokens: 16, temperature: 0.9, top_p: 0.9, top_k: 40,
                 frequency_penalty: 0.5, presence_penalty: 0.3, seed: 5 };
  const x = await client.chat.completions.create(chat);
  const y = await client.chat.completions.create(chat);
  assert.equal(x.choices[0].message.content, y.choices[0].message.content);
});

test('unsupported fields are 400s that name the field', async () => {
  await expectBadRequest(
    client.chat.completions.create({
      model, messages: chatMessages,
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }],
    }),
    'tools',
  );
  await expectBadRequest(
    client.chat.completions.create({ model, messages: chatMessages, response_format: { type: 'json_object' } }),
    'response_format',
  );
  await expectBadRequest(client.chat.completions.create({ model, messages: chatMessages, logit_bias: { 5: 10 } }), 'logit_bias');
  await expectBadRequest(client.chat.completions.create({ model, messages: chatMessages, reasoning_effort: 'low' }), 'reasoning_effort');
  await expectBadRequest(client.completions.create({ model, prompt: 'x', suffix: 'y' }), 'suffix');
  await expectBadRequest(client.completions.create({ model, prompt: 'x', best_of: 3 }), 'best_of');
  await expectBadRequest(client.completions.create({ model, prompt: 'x', echo: true, logprobs: 2 }), 'echo');
  // Accepted as harmless: a user id, {"type": "text"}, no tools.
  const ok = await client.chat.completions.create({
    model, messages: chatMessages, max_tokens: 2, user: 'someone', response_format: { type: 'text' }, tools: [],
  });
  assert.equal(ok.choices.length, 1);
});

function processCounts() {
  return {
    threads: readdirSync(`/proc/${serverPid}/task`).length,
    fds: readdirSync(`/proc/${serverPid}/fd`).length,
  };
}

async function health() {
  const res = await fetch(`${baseURL}/health`);
  assert.equal(res.status, 200);
  return res.json();
}

test('soak: 64 streaming clients at once, half hang up mid-stream; nothing leaks, the server answers', async () => {
  const clients = 64;
  const before = processCounts();
  const healthBefore = await health();
  const started = performance.now();
  // Each soak client has its own connection (a fresh client), as separate users would.
  const runs = Array.from({ length: clients }, async (_, i) => {
    const own = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey, maxRetries: 0, timeout: 60_000 });
    const hangUp = i % 2 === 1;
    // The ones that hang up ask for far more than they read (ignore_eos: it would run to the end),
    // so an uncancelled generation would show in the time and the counters.
    const stream = await own.chat.completions.create({
      model, messages: [{ role: 'user', content: `Client ${i} says hello.` }], stream: true,
      max_tokens: hangUp ? 2000 : 16, ignore_eos: hangUp, temperature: 0.8, seed: i,
    });
    let chunks = 0;
    let text = '';
    for await (const chunk of stream) {
      chunks += 1;
      text += chunk.choices[0]?.delta?.content ?? '';
      if (hangUp && chunks === 3) break;  // leaving the loop aborts the request: the socket closes
    }
    return { hangUp, chunks, text };
  });
  const results = await Promise.all(runs);
  const seconds = (performance.now() - started) / 1000;
  assert.equal(results.filter((r) => r.hangUp && r.chunks === 3).length, clients / 2);
  assert.ok(results.filter((r) => !r.hangUp).every((r) => r.chunks >= 3));
  // The server goes on answering, and the hung-up generations were cancelled, not run to 2000 tokens.
  const reply = await client.chat.completions.create({ model, messages: chatMessages, max_tokens: 4, temperature: 0 });
  assert.equal(reply.choices.length, 1);
  let healthAfter = await health();
  const deadline = performance.now() + 10_000;
  while (healthAfter.requests_finished - healthBefore.requests_finished < clients + 1 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    healthAfter = await health();
  }
  const cancelled = healthAfter.requests_cancelled - healthBefore.requests_cancelled;
  const tokens = healthAfter.tokens_generated - healthBefore.tokens_generated;
  assert.equal(healthAfter.requests_finished - healthBefore.requests_finished, clients + 1);
  assert.equal(cancelled, clients / 2);
  assert.ok(tokens < (clients / 2) * 2000 / 4, `${tokens} tokens generated: hung-up streams were not stopped`);
  // Threads and connections back to where they were once the kept-alive connections time out (2 s).
  let after = processCounts();
  const settle = performance.now() + 15_000;
  while ((after.threads > before.threads || after.fds > before.fds) && performance.now() < settle) {
    await new Promise((r) => setTimeout(r, 100));
    after = processCounts();
  }
  const settled = (performance.now() - started) / 1000;
  console.log(
    `soak: ${clients} streaming clients, ${clients / 2} hung up after 3 chunks; all done in ${seconds.toFixed(2)} s; ` +
      `${cancelled} generations cancelled, ${tokens} tokens generated in all; threads ${before.threads} -> ${after.threads}, ` +
      `fds ${before.fds} -> ${after.fds} (settled at ${settled.toFixed(2)} s)`,
  );
  assert.ok(after.threads <= before.threads, `threads ${before.threads} -> ${after.threads}`);
  assert.ok(after.fds <= before.fds, `fds ${before.fds} -> ${after.fds}`);
});
