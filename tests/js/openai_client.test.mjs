// Drives a live `moxing serve` with the official `openai` npm client (v6).
//
//   cd tests/js && npm ci            # once
//   MOXING_BIN=build/release/moxing MOXING_SHARED_DIR=/work/shared \
//     node --test tests/js/openai_client.test.mjs
//
// Two servers: stories260K (a real tiny story model, no chat template: chat uses the ChatML
// fallback) with -c 256 for almost everything, and tiny-qwen2 (random weights) with -c 2048
// for JSON mode, where stories260K keeps writing prose inside JSON strings and never closes the
// object, and for the abort test, where 256 tokens are generated too fast (~0.1 s) for an
// abort to land while the sequence still runs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, metrics, sleep, KEY, STORIES, TINY_QWEN2 } from './moxing_server.mjs';

// A server with --parallel 4 and its OpenAI client as `client`.
async function serve(model, ctx) {
  const server = await startServer({ model, ctx, parallel: 4 });
  server.client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: KEY, maxRetries: 0, timeout: 30_000 });
  return server;
}

// Awaits `promise`, which must reject with an instance of `cls`; returns the error.
async function expectError(promise, cls) {
  try {
    const value = await promise;
    assert.fail(`expected ${cls.name}, got a reply: ${JSON.stringify(value).slice(0, 500)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e?.constructor?.name}: ${e?.message}`);
    return e;
  }
}

function assertUsage(usage, maxTokens) {
  assert.ok(usage, 'usage present');
  for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens']) assert.ok(Number.isInteger(usage[k]), `usage.${k} is an integer`);
  assert.ok(usage.prompt_tokens > 0);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  if (maxTokens !== undefined) assert.ok(usage.completion_tokens <= maxTokens, `completion_tokens ${usage.completion_tokens} <= ${maxTokens}`);
}

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const maxAbsDiff = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

// ---------------------------------------------------------------------------------------

let stories;  // stories260K server
let qwen;     // tiny-qwen2 server
let client;   // stories' OpenAI client
let MODEL;    // stories' model id

const STORY_CHAT = { messages: [{ role: 'user', content: 'Tell me a story' }] };
const PROMPT = 'Once upon a time';

before(async () => {
  [stories, qwen] = await Promise.all([serve(STORIES, 256), serve(TINY_QWEN2, 2048)]);
  client = stories.client;
  MODEL = stories.name;
});

after(() => Promise.all([stories?.stop(), qwen?.stop()]));

// 1 -------------------------------------------------------------------------------------

test('models.list returns the served model, named after the file stem', async () => {
  const page = await client.models.list();
  const ids = page.data.map((m) => m.id);
  assert.deepEqual(ids, ['stories260K']);
  assert.equal(page.data[0].object, 'model');
  assert.ok(Number.isInteger(page.data[0].created));
  assert.equal(typeof page.data[0].owned_by, 'string');
  const iterated = [];
  for await (const m of client.models.list()) iterated.push(m.id);  // the client's auto-pagination
  assert.deepEqual(iterated, ids);
});

test('models.retrieve (GET /v1/models/{id}) returns the model', async () => {
  const m = await client.models.retrieve(MODEL);
  assert.equal(m.id, MODEL);
  assert.equal(m.object, 'model');
  await expectError(client.models.retrieve('no-such-model'), OpenAI.NotFoundError);
});

// 2 -------------------------------------------------------------------------------------

test('chat.completions.create: shape, usage, greedy and seeded determinism', async () => {
  const req = { model: MODEL, ...STORY_CHAT, max_tokens: 30, temperature: 0 };
  const a = await client.chat.completions.create(req);
  assert.equal(a.object, 'chat.completion');
  assert.match(a.id, /\S/);
  assert.equal(a.model, MODEL);
  assert.ok(Number.isInteger(a.created));
  assert.equal(a.choices.length, 1);
  const c = a.choices[0];
  assert.equal(c.index, 0);
  assert.equal(c.message.role, 'assistant');
  assert.equal(typeof c.message.content, 'string');
  assert.ok(c.message.content.length > 0, 'some content');
  assert.ok(['stop', 'length'].includes(c.finish_reason), `finish_reason ${c.finish_reason}`);
  assertUsage(a.usage, 30);
  if (c.finish_reason === 'length') assert.equal(a.usage.completion_tokens, 30);

  const b = await client.chat.completions.create(req);
  assert.equal(b.choices[0].message.content, c.message.content, 'temperature 0 twice: same content');
  assert.notEqual(b.id, a.id, 'each completion has its own id');

  const seeded = (seed) => client.chat.completions.create({ ...req, temperature: 1, seed }).then((r) => r.choices[0].message.content);
  const s1 = await seeded(42);
  assert.equal(await seeded(42), s1, 'seed 42 + temperature 1 twice: same content');
  const others = [await seeded(1), await seeded(2), await seeded(3)];
  assert.ok(new Set([s1, ...others]).size > 1, 'different seeds give different samples');

  const mct = await client.chat.completions.create({ model: MODEL, ...STORY_CHAT, max_completion_tokens: 5, temperature: 0 });
  assertUsage(mct.usage, 5);
  assert.equal(mct.choices[0].finish_reason, 'length');
});

// 3 -------------------------------------------------------------------------------------

test('streaming chat: deltas assemble to the greedy reply, finish_reason and a usage chunk', async () => {
  const req = { model: MODEL, ...STORY_CHAT, max_tokens: 40, temperature: 0 };
  const whole = await client.chat.completions.create(req);

  const stream = await client.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
  let content = '', role = null, finish = null, usage = null, chunks = 0, usageChunks = 0;
  const ids = new Set();
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    ids.add(chunk.id);
    if (chunk.usage) {
      usageChunks++;
      usage = chunk.usage;
      assert.deepEqual(chunk.choices, [], 'the usage chunk has no choices');
      continue;
    }
    assert.equal(usage, null, 'no chunk after the usage chunk');
    assert.equal(chunk.choices.length, 1);
    const ch = chunk.choices[0];
    assert.equal(ch.index, 0);
    if (ch.delta.role) {
      assert.equal(role, null, 'role sent once');
      role = ch.delta.role;
    }
    if (typeof ch.delta.content === 'string') content += ch.delta.content;
    if (ch.finish_reason) {
      assert.equal(finish, null, 'finish_reason sent once');
      finish = ch.finish_reason;
    }
  }
  assert.ok(chunks > 2);
  assert.equal(ids.size, 1, 'one id for all chunks');
  assert.equal(role, 'assistant');
  assert.equal(content, whole.choices[0].message.content, 'streamed = non-streamed greedy content');
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.equal(usageChunks, 1, 'exactly one usage chunk');
  assert.deepEqual(usage, whole.usage);

  // Without include_usage no chunk carries usage.
  const plain = await client.chat.completions.create({ ...req, stream: true });
  for await (const chunk of plain) assert.ok(!chunk.usage, 'no usage without stream_options.include_usage');
});

test('chat.completions.stream helper accumulates the same final completion', async () => {
  const req = { model: MODEL, ...STORY_CHAT, max_tokens: 25, temperature: 0 };
  const whole = await client.chat.completions.create(req);
  const runner = client.chat.completions.stream({ ...req, stream_options: { include_usage: true } });
  let deltas = '';
  runner.on('content', (delta) => { deltas += delta; });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.role, 'assistant');
  assert.equal(final.choices[0].message.content, whole.choices[0].message.content);
  assert.equal(deltas, whole.choices[0].message.content);
  assert.equal(final.choices[0].finish_reason, whole.choices[0].finish_reason);
  assert.deepEqual(final.usage, whole.usage);
});

// 4 -------------------------------------------------------------------------------------

test('completions (legacy): non-streaming, streaming and echo', async () => {
  const req = { model: MODEL, prompt: PROMPT, max_tokens: 20, temperature: 0 };
  const a = await client.completions.create(req);
  assert.equal(a.object, 'text_completion');
  assert.equal(a.choices.length, 1);
  assert.equal(a.choices[0].index, 0);
  const text = a.choices[0].text;
  assert.equal(typeof text, 'string');
  assert.ok(text.length > 0);
  assert.ok(!text.startsWith(PROMPT), 'no echo by default');
  assert.ok(['stop', 'length'].includes(a.choices[0].finish_reason));
  assertUsage(a.usage, 20);

  let streamed = '', finish = null, usage = null;
  for await (const chunk of await client.completions.create({ ...req, stream: true, stream_options: { include_usage: true } })) {
    assert.equal(chunk.object, 'text_completion');
    if (chunk.usage) usage = chunk.usage;
    for (const ch of chunk.choices) {
      streamed += ch.text;
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  assert.equal(streamed, text, 'streamed = non-streamed greedy text');
  assert.equal(finish, a.choices[0].finish_reason);
  assert.deepEqual(usage, a.usage, 'streamed usage chunk');

  const echoed = await client.completions.create({ ...req, echo: true });
  assert.equal(echoed.choices[0].text, PROMPT + text, 'echo prepends the prompt');
  let echoStreamed = '';
  for await (const chunk of await client.completions.create({ ...req, echo: true, stream: true }))
    for (const ch of chunk.choices) echoStreamed += ch.text;
  assert.equal(echoStreamed, PROMPT + text, 'streamed echo prepends the prompt');
});

test('completions logprobs: 2 gives parallel tokens/token_logprobs/top_logprobs', async () => {
  const r = await client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 12, temperature: 0, logprobs: 2 });
  const lp = r.choices[0].logprobs;
  assert.ok(lp, 'logprobs object present');
  const n = r.usage.completion_tokens;
  assert.ok(n > 0);
  assert.equal(lp.tokens.length, n);
  assert.equal(lp.token_logprobs.length, n);
  assert.equal(lp.top_logprobs.length, n);
  assert.equal(lp.tokens.join(''), r.choices[0].text, 'tokens spell the text');
  for (let i = 0; i < n; i++) {
    assert.equal(typeof lp.tokens[i], 'string');
    assert.ok(lp.token_logprobs[i] <= 0, `token_logprobs[${i}] = ${lp.token_logprobs[i]} <= 0`);
    const top = Object.entries(lp.top_logprobs[i]);
    assert.ok(top.length >= 1 && top.length <= 2, `top_logprobs[${i}] has ${top.length} entries`);
    for (const [, v] of top) assert.ok(v <= 0);
    // Greedy: the chosen token is the most likely one.
    assert.ok(Math.abs(Math.max(...top.map(([, v]) => v)) - lp.token_logprobs[i]) < 1e-5, `step ${i}: greedy picks the top token`);
  }
});

test('completions logprobs carry text_offset, as OpenAI gives them', async () => {
  const r = await client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 5, temperature: 0, logprobs: 1 });
  const lp = r.choices[0].logprobs;
  assert.ok(Array.isArray(lp.text_offset), `logprobs.text_offset is an array; keys: ${Object.keys(lp)}`);
  assert.equal(lp.text_offset.length, lp.tokens.length);
  // Offsets of consecutive tokens differ by the tokens' lengths (OpenAI counts from the prompt's start).
  assert.ok(Number.isInteger(lp.text_offset[0]) && lp.text_offset[0] >= 0);
  for (let i = 1; i < lp.tokens.length; i++) assert.equal(lp.text_offset[i] - lp.text_offset[i - 1], lp.tokens[i - 1].length);
});

test('completions echo + logprobs + max_tokens 0 scores the prompt tokens (lm-eval-harness loglikelihood)', async () => {
  // OpenAI's legacy endpoint lists the prompt's own tokens with their logprobs, the first null.
  const s = await client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 0, echo: true, logprobs: 1 });
  const sl = s.choices[0].logprobs;
  assert.equal(s.choices[0].text, PROMPT);
  assert.ok(sl.tokens.length > 0, 'prompt tokens listed');
  assert.equal(sl.tokens.join(''), PROMPT);
  assert.equal(sl.token_logprobs[0], null);
  for (const v of sl.token_logprobs.slice(1)) assert.ok(v <= 0);
  assert.equal(sl.top_logprobs[0], null);
  assert.equal(sl.text_offset[0], 0);
  for (let i = 1; i < sl.tokens.length; i++) assert.equal(sl.text_offset[i] - sl.text_offset[i - 1], sl.tokens[i - 1].length);
  assert.equal(s.usage.completion_tokens, 0);
  assert.equal(s.usage.prompt_tokens, sl.tokens.length);

  // The same prompt as token ids, continued greedily: the prompt's scores come first, then
  // the generated tokens'; the scores do not depend on what follows.
  const tokenized = await fetch(`${stories.base}/tokenize`, {
    method: 'POST', headers: { Authorization: `Bearer ${KEY}` }, body: JSON.stringify({ content: PROMPT, add_special: true }),
  });
  const ids = (await tokenized.json()).tokens;
  const g = await client.completions.create({ model: MODEL, prompt: ids, max_tokens: 3, echo: true, logprobs: 1, temperature: 0 });
  const gl = g.choices[0].logprobs;
  assert.equal(gl.tokens.length, ids.length + g.usage.completion_tokens);
  assert.deepEqual(gl.token_logprobs.slice(0, ids.length), sl.token_logprobs);
});

test('chat logprobs: true, top_logprobs: 3', async () => {
  const r = await client.chat.completions.create({ model: MODEL, ...STORY_CHAT, max_tokens: 10, temperature: 0, logprobs: true, top_logprobs: 3 });
  const entries = r.choices[0].logprobs?.content;
  assert.ok(Array.isArray(entries), 'choices[0].logprobs.content is an array');
  assert.equal(entries.length, r.usage.completion_tokens);
  for (const e of entries) {
    assert.equal(typeof e.token, 'string');
    assert.ok(e.logprob <= 0, `logprob ${e.logprob} <= 0`);
    assert.ok(Array.isArray(e.bytes));
    if (!e.token.includes('\uFFFD')) assert.deepEqual(e.bytes, [...Buffer.from(e.token, 'utf8')]);
    assert.ok(e.top_logprobs.length >= 1 && e.top_logprobs.length <= 3, `${e.top_logprobs.length} top_logprobs`);
    for (const t of e.top_logprobs) assert.ok(t.logprob <= 0);
    assert.ok(e.top_logprobs.some((t) => t.token === e.token), 'greedy: the chosen token is among the top ones');
  }
  assert.equal(Buffer.from(entries.flatMap((e) => e.bytes)).toString('utf8'), r.choices[0].message.content, 'the tokens\' bytes spell the content');

  // Streaming: each chunk's logprobs.content covers its delta.
  let tokens = 0;
  for await (const chunk of await client.chat.completions.create({ model: MODEL, ...STORY_CHAT, max_tokens: 10, temperature: 0, logprobs: true, top_logprobs: 3, stream: true }))
    tokens += chunk.choices[0]?.logprobs?.content?.length ?? 0;
  assert.equal(tokens, entries.length, 'streamed logprobs entries');
});

// 5 -------------------------------------------------------------------------------------

test('stop sequences are cut from the output and give finish_reason stop', async () => {
  const req = { model: MODEL, prompt: PROMPT, max_tokens: 40, temperature: 0 };
  const free = (await client.completions.create(req)).choices[0].text;
  const STOP = ' little';
  const at = free.indexOf(STOP);
  assert.ok(at > 0, `precondition: the greedy text contains "${STOP}": ${JSON.stringify(free)}`);

  const r = await client.completions.create({ ...req, stop: STOP });
  assert.equal(r.choices[0].text, free.slice(0, at), 'text up to the stop string, without it');
  assert.equal(r.choices[0].finish_reason, 'stop');

  const arr = await client.completions.create({ ...req, stop: ['zzz-never', STOP] });
  assert.equal(arr.choices[0].text, free.slice(0, at), 'stop as an array');

  let streamed = '', finish = null;
  for await (const chunk of await client.completions.create({ ...req, stop: STOP, stream: true }))
    for (const ch of chunk.choices) {
      streamed += ch.text;
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  assert.equal(streamed, free.slice(0, at), 'streamed text never leaks (part of) the stop string');
  assert.equal(finish, 'stop');

  // Chat too.
  const chatReq = { model: MODEL, ...STORY_CHAT, max_tokens: 40, temperature: 0 };
  const chatFree = (await client.chat.completions.create(chatReq)).choices[0].message.content;
  const word = chatFree.match(/[A-Za-z]{3,}/)?.[0];
  assert.ok(word, `precondition: a word in ${JSON.stringify(chatFree)}`);
  const cr = await client.chat.completions.create({ ...chatReq, stop: word });
  assert.equal(cr.choices[0].message.content, chatFree.slice(0, chatFree.indexOf(word)));
  assert.equal(cr.choices[0].finish_reason, 'stop');
});

// 6 -------------------------------------------------------------------------------------

const PERSON_FORMAT = {
  type: 'json_schema',
  json_schema: {
    name: 'person',
    schema: {
      type: 'object',
      properties: { name: { type: 'string' }, age: { type: 'integer' } },
      required: ['name', 'age'],
    },
  },
};

function assertPerson(p, where) {
  assert.equal(typeof p, 'object', where);
  assert.ok(p !== null && !Array.isArray(p), where);
  assert.equal(typeof p.name, 'string', `${where}: name is a string`);
  assert.ok(Number.isInteger(p.age), `${where}: age is an integer`);
}

test('response_format json_schema: the content parses and follows the schema', async () => {
  const messages = [{ role: 'user', content: 'Give me a person as JSON' }];
  for (const server of [stories, qwen]) {
    const model = server.name;
    const r = await server.client.chat.completions.create({ model, messages, max_tokens: 200, temperature: 0, response_format: PERSON_FORMAT });
    assert.equal(r.choices[0].finish_reason, 'stop', `${model}: the object closes within 200 tokens`);
    assertPerson(JSON.parse(r.choices[0].message.content), model);
    // The client's parse() helper (JSON.parse on json_schema replies; throws on finish_reason length).
    const parsed = await server.client.chat.completions.parse({ model, messages, max_tokens: 200, temperature: 0, response_format: PERSON_FORMAT });
    assertPerson(parsed.choices[0].message.parsed, `${model} parse()`);
  }
});

test('response_format json_object: the content parses as an object', async () => {
  const r = await qwen.client.chat.completions.create({
    model: qwen.name, messages: [{ role: 'user', content: 'Give me a person as JSON' }], max_tokens: 200, temperature: 0,
    response_format: { type: 'json_object' },
  });
  assert.equal(r.choices[0].finish_reason, 'stop');
  const v = JSON.parse(r.choices[0].message.content);
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `an object: ${r.choices[0].message.content}`);

  await expectError(client.chat.completions.create({ model: MODEL, ...STORY_CHAT, response_format: { type: 'xml' } }), OpenAI.BadRequestError);
});

// 7 -------------------------------------------------------------------------------------

test('embeddings.create: normalized vectors, deterministic, base64 = float', async () => {
  const input = ['hello world', 'a cat'];
  const f = await client.embeddings.create({ model: MODEL, input, encoding_format: 'float' });
  assert.equal(f.object, 'list');
  assert.equal(typeof f.model, 'string');
  assert.equal(f.data.length, 2);
  f.data.forEach((d, i) => {
    assert.equal(d.object, 'embedding');
    assert.equal(d.index, i);
    assert.ok(Array.isArray(d.embedding) && d.embedding.length > 0);
    assert.ok(d.embedding.every((x) => typeof x === 'number' && Number.isFinite(x)));
    assert.ok(Math.abs(norm(d.embedding) - 1) <= 1e-3, `L2 norm ${norm(d.embedding)}`);
  });
  assert.equal(f.data[0].embedding.length, f.data[1].embedding.length);
  assert.ok(maxAbsDiff(f.data[0].embedding, f.data[1].embedding) > 1e-3, 'different inputs, different vectors');
  assert.ok(f.usage.prompt_tokens > 0);
  assert.equal(f.usage.total_tokens, f.usage.prompt_tokens);

  const again = await client.embeddings.create({ model: MODEL, input, encoding_format: 'float' });
  assert.deepEqual(again.data.map((d) => d.embedding), f.data.map((d) => d.embedding), 'same input, same vectors');
  const single = await client.embeddings.create({ model: MODEL, input: 'hello world', encoding_format: 'float' });
  assert.equal(single.data.length, 1);
  assert.ok(maxAbsDiff(single.data[0].embedding, f.data[0].embedding) <= 1e-5, 'alone or in a batch: the same vector');

  // No encoding_format: the client asks for base64 and decodes little-endian float32 itself.
  const b = await client.embeddings.create({ model: MODEL, input });
  assert.equal(b.data.length, 2);
  b.data.forEach((d, i) => {
    assert.ok(Array.isArray(d.embedding), 'decoded to an array');
    assert.equal(d.embedding.length, f.data[i].embedding.length, 'base64 decodes to as many floats');
    assert.ok(maxAbsDiff(d.embedding, f.data[i].embedding.map(Math.fround)) <= 1e-6, 'base64 = float');
  });
});

// 8 -------------------------------------------------------------------------------------

test('errors: a wrong API key is an AuthenticationError (401)', async () => {
  const bad = new OpenAI({ baseURL: `${stories.base}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
  const e = await expectError(bad.chat.completions.create({ model: MODEL, ...STORY_CHAT, max_tokens: 1 }), OpenAI.AuthenticationError);
  assert.equal(e.status, 401);
  assert.equal(e.code, 'invalid_api_key');
  assert.equal(typeof e.error?.message, 'string');
  await expectError(bad.models.list(), OpenAI.AuthenticationError);
  const res = await fetch(`${stories.base}/metrics`);
  assert.equal(res.status, 401, '/metrics needs the key too');
});

test('errors: a prompt longer than the context is a 400 context_length_exceeded', async () => {
  const long = 'Once upon a time there was a little girl. '.repeat(60);
  const e = await expectError(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: long }], max_tokens: 5 }), OpenAI.BadRequestError);
  assert.equal(e.status, 400);
  assert.equal(e.code, 'context_length_exceeded');
  assert.match(e.message, /context/);
  assert.equal(e.type, 'invalid_request_error');
  const c = await expectError(client.completions.create({ model: MODEL, prompt: long, max_tokens: 5 }), OpenAI.BadRequestError);
  assert.equal(c.code, 'context_length_exceeded');
  // A streamed request is refused the same way, before any event.
  const s = await expectError(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: long }], stream: true }), OpenAI.BadRequestError);
  assert.equal(s.code, 'context_length_exceeded');
});

test('errors: a wrongly typed field is a 400 naming it', async () => {
  const e = await expectError(client.chat.completions.create({ model: MODEL, ...STORY_CHAT, temperature: 'hot' }), OpenAI.BadRequestError);
  assert.equal(e.status, 400);
  assert.ok(e.param === 'temperature' || /temperature/.test(e.message), `names the field: param=${e.param} message=${e.message}`);
  const m = await expectError(client.chat.completions.create({ model: MODEL, ...STORY_CHAT, max_tokens: -1 }), OpenAI.BadRequestError);
  assert.ok(m.param === 'max_tokens' || /max_tokens/.test(m.message), `names max_tokens: ${m.message}`);
  const s = await expectError(client.chat.completions.create({ model: MODEL, messages: 'hi' }), OpenAI.BadRequestError);
  assert.ok(s.param === 'messages' || /messages/.test(s.message), `names messages: ${s.message}`);
});

test('n: 2 gives two choices (indices 0 and 1), streamed too', async () => {
  const req = { model: MODEL, ...STORY_CHAT, max_tokens: 10, temperature: 1, seed: 7, n: 2 };
  const r = await client.chat.completions.create(req);
  assert.equal(r.choices.length, 2);
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1]);
  for (const c of r.choices) {
    assert.equal(c.message.role, 'assistant');
    assert.equal(typeof c.message.content, 'string');
    assert.ok(['stop', 'length'].includes(c.finish_reason));
  }
  assertUsage(r.usage, 20);

  const finished = new Set();
  for await (const chunk of await client.chat.completions.create({ ...req, stream: true }))
    for (const ch of chunk.choices) if (ch.finish_reason) finished.add(ch.index);
  assert.deepEqual([...finished].sort(), [0, 1], 'both choices finish in the stream');
});

// 9 -------------------------------------------------------------------------------------

test('a client abort mid-stream leaves the server healthy', async (t) => {
  const { client } = qwen;
  const MODEL = qwen.name;
  // ignore_eos: an unseeded sample could otherwise end before the second chunk, and never abort.
  const long = { model: MODEL, prompt: PROMPT, max_tokens: qwen.ctx - 48, temperature: 1, ignore_eos: true };
  const before = await metrics(qwen);
  // The client keeps yielding the events it had already read when abort() was called, then stops.
  const abortOne = async () => {
    const stream = await client.completions.create({ ...long, stream: true });
    let chunks = 0, finished = false;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.text && ++chunks === 2) stream.controller.abort();
        if (chunk.choices[0]?.finish_reason) finished = true;
      }
    } catch (e) {
      assert.ok(e instanceof OpenAI.APIUserAbortError || e.name === 'AbortError', `abort error: ${e}`);
    }
    assert.ok(stream.controller.signal.aborted);
    return finished;
  };
  const finished = await Promise.all(Array.from({ length: 6 }, abortOne));
  assert.ok(finished.filter(Boolean).length < 6, 'at least one stream was cut before its end');

  // An AbortController passed as the request's signal works the same way.
  const ac = new AbortController();
  const stream = await client.chat.completions.create({ model: MODEL, ...STORY_CHAT, max_tokens: long.max_tokens, stream: true }, { signal: ac.signal });
  let n = 0;
  try {
    for await (const _ of stream) if (++n === 3) ac.abort();
  } catch (e) {
    assert.ok(e instanceof OpenAI.APIUserAbortError || e.name === 'AbortError', `abort error: ${e}`);
  }

  const settled = async () => {
    let m;
    const deadline = Date.now() + 10_000;
    do {
      m = await metrics(qwen);
      if (m.moxing_active_sequences === 0 && m.moxing_queue_length === 0 && m.moxing_kv_cache_used_tokens === 0) break;
      await sleep(50);
    } while (Date.now() < deadline);
    assert.equal(m.moxing_active_sequences, 0, 'no sequence left running');
    assert.equal(m.moxing_queue_length, 0, 'nothing left waiting');
    assert.equal(m.moxing_kv_cache_used_tokens, 0, 'the KV cache is free again');
    return m;
  };
  // Any one of the six ignore_eos streams left running would alone take max_tokens forward
  // steps (the six to their end, at --parallel 4, twice that). How many steps pass before
  // the server notices a closed socket depends on scheduling (a few hundred here, over a
  // thousand on a loaded 2-core machine), so the bound is the uncancelled cost, not a latency.
  const after = await settled();
  const steps = after.moxing_batch_steps_total - before.moxing_batch_steps_total;
  const cancelled = after.moxing_requests_cancelled_total - before.moxing_requests_cancelled_total;
  t.diagnostic(`7 aborted streams of up to ${long.max_tokens} tokens took ${steps} forward steps; ${cancelled} cancelled`);
  assert.ok(steps < long.max_tokens, `aborted sequences were freed before their end (${steps} steps)`);
  assert.ok(cancelled >= 6 && cancelled <= 7, `each aborted stream was cancelled (${cancelled})`);

  const r = await client.chat.completions.create({ model: MODEL, ...STORY_CHAT, max_tokens: 8, temperature: 0 });
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.usage.completion_tokens, 8);
  await settled();
});

// Connection handling ---------------------------------------------------------------------

test('keep-alive reuse and concurrent requests through one client', async () => {
  // More sequential requests than the server's keep-alive maximum per connection.
  for (let i = 0; i < 12; i++) assert.equal((await client.models.list()).data[0].id, MODEL);
  // More concurrent greedy requests than --parallel: all answer, with the solo reply.
  const req = { model: MODEL, ...STORY_CHAT, max_tokens: 16, temperature: 0 };
  const solo = (await client.chat.completions.create(req)).choices[0].message.content;
  const all = await Promise.all(Array.from({ length: 10 }, () => client.chat.completions.create(req)));
  for (const r of all) assert.equal(r.choices[0].message.content, solo);
});
