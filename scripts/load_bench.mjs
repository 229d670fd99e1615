#!/usr/bin/env node
// load_bench.mjs: concurrent streaming load benchmark for an OpenAI-compatible server.
//
// Works against `moxing serve` and llama.cpp's `llama-server` (and any server that streams
// POST /v1/completions as server-sent events). Node 20 or newer, no npm dependencies.
//
// Usage:
//   node scripts/load_bench.mjs [--url http://127.0.0.1:8080] [--clients 1,4,16]
//        [--tokens 64] [--requests 2] [--prompt-tokens 100] [--api-key KEY]
//        [--model NAME] [--seed 1] [--timeout 300] [--extra JSON] [--no-warmup] [--json]
//
//   --url            server base URL (without /v1)
//   --clients        comma-separated list; one phase per value, run in that order
//   --tokens         max_tokens per request (ignore_eos is sent too, so servers that honour it
//                    generate exactly that many; the others may stop early at EOS, which is
//                    counted and reported as a warning, not an error)
//   --requests       requests per client per phase, sent one after another
//   --prompt-tokens  approximate prompt length; every request gets its own prompt, which
//                    differs from the others from its first words on (no shared prefix)
//   --api-key        sent as "Authorization: Bearer KEY"
//   --model          "model" field of the requests (default: the first id of GET /v1/models,
//                    or none if that fails)
//   --seed           base of the per-request sampling seeds (request i gets seed + i)
//   --extra          a JSON object merged into every request body, e.g. a logit_bias that
//                    keeps a random-weight model off byte tokens (whose invalid UTF-8 some
//                    servers fail on)
//   --timeout        seconds one request may take before it counts as failed (Node's fetch
//                    also gives up on its own after 300 s without a byte from the server)
//   --no-warmup      skip the untimed warm-up request sent before the first phase
//   --json           print a JSON array of per-phase result objects instead of the table
//
// Example:
//   moxing serve -m model.gguf --parallel 16 --port 8080 &
//   node scripts/load_bench.mjs --clients 1,4,16 --tokens 64 --requests 2
//
// Every client is a loop that sends its requests one after another, each a streaming
// completion (stream: true, stream_options.include_usage: true, temperature 0.8). Per request:
//   - TTFT: from just before sending to the first chunk with non-empty text;
//   - ITL:  the gaps between successive chunks with non-empty text (a server that merges
//           several tokens into one chunk shows fewer, longer gaps);
//   - tokens: usage.completion_tokens when the server sends usage, else the number of text
//           chunks.
// Per phase: total tokens, wall time (start of the first request to end of the last),
// aggregate tokens/s = total tokens / wall time, TTFT and ITL p50/p99 over all samples of the
// phase, and the mean over clients of each client's tokens / its own elapsed time.
//
// The table goes to stdout, progress lines to stderr. The exit code is 1 if any request
// failed (the errors are printed), 2 for bad arguments. The benchmark usually runs on the same
// machine as the server, so on a small machine the client's own CPU use shows in the numbers.

import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

// ---------------------------------------------------------------------------------------------
// Options

const OPTIONS = {
  url: { type: 'string', default: 'http://127.0.0.1:8080' },
  clients: { type: 'string', default: '1,4,16' },
  tokens: { type: 'string', default: '64' },
  requests: { type: 'string', default: '2' },
  'prompt-tokens': { type: 'string', default: '100' },
  'api-key': { type: 'string' },
  model: { type: 'string' },
  seed: { type: 'string', default: '1' },
  timeout: { type: 'string', default: '300' },
  extra: { type: 'string', default: '{}' },
  warmup: { type: 'boolean', default: true },
  'no-warmup': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({ options: OPTIONS, strict: true }));
  } catch (e) {
    die(`${e.message}\n${USAGE.trimEnd()}`);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const positiveInt = (name, text) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) die(`--${name} must be a positive integer, got '${text}'`);
    return n;
  };
  const clients = values.clients.split(',').map((s) => positiveInt('clients', s.trim()));
  return {
    url: values.url.replace(/\/+$/, ''),
    clients,
    tokens: positiveInt('tokens', values.tokens),
    requests: positiveInt('requests', values.requests),
    promptTokens: positiveInt('prompt-tokens', values['prompt-tokens']),
    apiKey: values['api-key'],
    model: values.model,
    seed: Number.isInteger(Number(values.seed)) ? Number(values.seed) : die('--seed must be an integer'),
    timeoutMs: positiveInt('timeout', values.timeout) * 1000,
    extra: parseExtra(values.extra),
    warmup: values.warmup && !values['no-warmup'],
    json: values.json,
  };
}

function parseExtra(text) {
  let extra;
  try {
    extra = JSON.parse(text);
  } catch (e) {
    die(`--extra must be a JSON object: ${e.message}`);
  }
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) die('--extra must be a JSON object');
  return extra;
}

const USAGE =
  'usage: node scripts/load_bench.mjs [--url URL] [--clients 1,4,16] [--tokens 64] [--requests 2]\n' +
  '       [--prompt-tokens 100] [--api-key KEY] [--model NAME] [--seed 1] [--timeout 300]\n' +
  '       [--extra JSON] [--no-warmup] [--json]\n' +
  'See the comment at the top of this file for what is measured.\n';

function die(message) {
  process.stderr.write(`load_bench: ${message}\n`);
  process.exit(2);
}

const log = (message) => process.stderr.write(`[load_bench] ${message}\n`);

// ---------------------------------------------------------------------------------------------
// Prompts: each request gets its own. The prompt opens with a unique story number and a
// pseudo-random choice of opening, names and words, so no two prompts share more than a
// couple of tokens of prefix (a server's prefix cache cannot skip their prefill).

const OPENINGS = [
  'Once upon a time', 'Long ago', 'In a distant land', 'On a cold morning', 'Late one night',
  'At the edge of the forest', 'In the old harbour town', 'High in the mountains',
  'Beneath the city', 'On the first day of spring', 'Far out at sea', 'In a quiet village',
];
const NAMES = ['Mara', 'Tobin', 'Elsa', 'Ravi', 'Ines', 'Oskar', 'Lena', 'Yusuf', 'Nadia', 'Piet', 'Chen', 'Aiko'];
const WORDS = (
  'river stone lantern window garden bread silver wind road candle friend letter bridge ' +
  'market forest door music winter summer bird horse cloud paper boat storm apple field ' +
  'tower clock mirror coat key map song fire rain light shadow hill ship bell queen king ' +
  'child baker farmer sailor painter walked found carried opened watched lost remembered ' +
  'quiet bright old small strange warm heavy gentle slowly suddenly again together'
).split(' ');

// mulberry32: a tiny seeded PRNG, so the prompts are the same from run to run.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A prompt of `words` words (at least the opening's): "Story ID." with a pseudo-random opening
// and names, then sentences of common words. Real vocabularies give about one token per word;
// calibratePromptWords() measures the ratio on the server when it can.
function makePrompt(id, words) {
  const rand = rng(0x9e3779b9 ^ Math.imul(id + 1, 2654435761));
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const opening = `Story ${id}. ${pick(OPENINGS)}, ${pick(NAMES)} and ${pick(NAMES)}`;
  const rest = [];
  let count = opening.split(' ').length;
  while (count < words) {
    const n = Math.min(5 + Math.floor(rand() * 6), words - count);
    const sentence = Array.from({ length: n }, () => pick(WORDS)).join(' ');
    rest.push(sentence.charAt(0).toUpperCase() + sentence.slice(1) + '.');
    count += n;
  }
  return [opening + '.', ...rest].join(' ');
}

// How many words make ~promptTokens tokens on this server: tokenize a sample prompt with
// POST /tokenize (moxing and llama-server both have it) and scale. Falls back to one token
// per word when the route is missing.
async function calibratePromptWords(opts) {
  const sampleWords = Math.max(opts.promptTokens, 40);
  try {
    const res = await fetch(`${opts.url}/tokenize`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...authHeader(opts) },
      body: JSON.stringify({ content: makePrompt(0, sampleWords) }),
      signal: AbortSignal.timeout(10000),
    });
    const tokens = res.ok ? (await res.json())?.tokens : undefined;
    if (Array.isArray(tokens) && tokens.length > 0) {
      const words = Math.max(1, Math.round((opts.promptTokens * sampleWords) / tokens.length));
      log(`prompts: ${words} words each (POST /tokenize: ${(tokens.length / sampleWords).toFixed(2)} tokens per word)`);
      return words;
    }
  } catch {}
  log(`prompts: ${opts.promptTokens} words each (no /tokenize on the server; assuming one token per word)`);
  return opts.promptTokens;
}

// ---------------------------------------------------------------------------------------------
// Server-sent events: split the byte stream into events and hand each event's data to onData.
// Comment lines (": ping") and fields other than data: are ignored; an event's data lines are
// joined with "\n" as the SSE spec says.

async function readEvents(body, onData) {
  const decoder = new TextDecoder();
  let buffer = '';
  let data = [];
  const flushLine = (line) => {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') {
      if (data.length) onData(data.join('\n'));
      data = [];
    } else if (line.startsWith('data:')) {
      data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
    } // other fields (event:, id:, retry:) and comments (":") are ignored
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      flushLine(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  }
  buffer += decoder.decode();
  if (buffer) flushLine(buffer);
  flushLine(''); // a final event without its blank line
}

// ---------------------------------------------------------------------------------------------
// One streaming request. Returns a record; failures are returned as { error }, never thrown.

async function runRequest(opts, id) {
  const body = {
    prompt: makePrompt(id, opts.promptWords),
    max_tokens: opts.tokens,
    ignore_eos: true, // llama-server: generate exactly max_tokens; others ignore the field
    temperature: 0.8,
    seed: opts.seed + id,
    stream: true,
    stream_options: { include_usage: true },
    ...opts.extra,
  };
  if (opts.model) body.model = opts.model;
  const headers = { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...authHeader(opts) };

  const rec = { id, ttftMs: null, itlMs: [], chunks: 0, tokens: 0, promptTokens: null, finishReason: null };
  const start = performance.now();
  let last = null;
  let done = false;
  let usage = null;
  try {
    const res = await fetch(`${opts.url}/v1/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      return { ...rec, error: `HTTP ${res.status}: ${errorMessage(text)}` };
    }
    await readEvents(res.body, (data) => {
      const now = performance.now();
      if (data.trim() === '[DONE]') {
        done = true;
        return;
      }
      let msg;
      try {
        msg = JSON.parse(data);
      } catch {
        throw new Error(`bad JSON in stream: ${data.slice(0, 200)}`);
      }
      if (msg.error) throw new Error(`error in stream: ${JSON.stringify(msg.error).slice(0, 300)}`);
      if (msg.usage) usage = msg.usage;
      const choice = Array.isArray(msg.choices) ? msg.choices[0] : undefined;
      if (!choice) return; // e.g. the usage-only chunk
      // /v1/completions puts the text in choices[0].text; accept a chat-style delta too.
      const text = choice.text ?? choice.delta?.content ?? '';
      if (choice.finish_reason) rec.finishReason = choice.finish_reason;
      if (typeof text !== 'string' || text === '') return;
      if (last === null) rec.ttftMs = now - start;
      else rec.itlMs.push(now - last);
      last = now;
      rec.chunks++;
    });
  } catch (e) {
    const why = e?.name === 'TimeoutError' ? `timed out after ${opts.timeoutMs / 1000} s` : e?.message ?? String(e);
    return { ...rec, error: why + (e?.cause ? ` (${e.cause.message ?? e.cause})` : '') };
  }
  rec.endMs = performance.now();
  rec.durationMs = rec.endMs - start;
  if (!done) return { ...rec, error: 'the stream ended without data: [DONE]' };
  rec.tokens = Number.isInteger(usage?.completion_tokens) ? usage.completion_tokens : rec.chunks;
  rec.usageGiven = Number.isInteger(usage?.completion_tokens);
  if (Number.isInteger(usage?.prompt_tokens)) rec.promptTokens = usage.prompt_tokens;
  if (rec.tokens > 0 && rec.ttftMs === null) return { ...rec, error: 'tokens were counted but no text arrived' };
  return rec;
}

function errorMessage(text) {
  try {
    const j = JSON.parse(text);
    if (j?.error?.message) return j.error.message;
  } catch {}
  return text.slice(0, 300) || '(empty body)';
}

// ---------------------------------------------------------------------------------------------
// Statistics. Percentiles are nearest-rank on the sorted samples: the p-th percentile of n
// samples is the value at 1-based rank ceil(p/100 * n) (so p99 of fewer than 100 samples is
// the maximum). No interpolation.

function percentile(samples, p) {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

// ---------------------------------------------------------------------------------------------
// A phase: `clients` loops, each sending `requests` requests one after another.

let nextRequestId = 0;

async function runPhase(opts, clients) {
  const phaseStart = performance.now();
  const perClient = await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const records = [];
      const clientStart = performance.now();
      for (let r = 0; r < opts.requests; r++) records.push(await runRequest(opts, nextRequestId++));
      return { client: c, records, elapsedMs: performance.now() - clientStart };
    }),
  );
  const wallMs = performance.now() - phaseStart;

  const all = perClient.flatMap((c) => c.records);
  const ok = all.filter((r) => !r.error);
  const failed = all.filter((r) => r.error);
  const tokens = ok.reduce((s, r) => s + r.tokens, 0);
  const ttft = ok.filter((r) => r.ttftMs !== null).map((r) => r.ttftMs);
  const itl = ok.flatMap((r) => r.itlMs);
  const clientRates = perClient.map(
    (c) => c.records.filter((r) => !r.error).reduce((s, r) => s + r.tokens, 0) / (c.elapsedMs / 1000),
  );
  const chunks = ok.reduce((s, r) => s + r.chunks, 0);
  const short = ok.filter((r) => r.tokens < opts.tokens).length;
  const promptTokens = ok.filter((r) => r.promptTokens !== null).map((r) => r.promptTokens);
  return {
    clients,
    requests: all.length,
    failed: failed.length,
    errors: failed.map((r) => `request ${r.id}: ${r.error}`),
    max_tokens: opts.tokens,
    tokens,
    chunks, // chunks with text; fewer than tokens: some chunks carried several tokens or none
    short_requests: short, // requests that generated fewer than max_tokens (stopped early)
    usage_reported: ok.length > 0 && ok.every((r) => r.usageGiven),
    prompt_tokens_mean: mean(promptTokens),
    wall_s: wallMs / 1000,
    agg_tok_s: tokens / (wallMs / 1000),
    ttft_p50_ms: percentile(ttft, 50),
    ttft_p99_ms: percentile(ttft, 99),
    itl_p50_ms: percentile(itl, 50),
    itl_p99_ms: percentile(itl, 99),
    client_tok_s_mean: mean(clientRates),
  };
}

// ---------------------------------------------------------------------------------------------
// Output

const fmt = (x, digits = 1) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits));

function markdownTable(results) {
  const header = [
    'clients', 'requests', 'failed', 'tokens', 'wall s', 'agg tok/s', 'TTFT p50 ms', 'TTFT p99 ms',
    'ITL p50 ms', 'ITL p99 ms', 'client tok/s mean',
  ];
  const rows = results.map((r) => [
    String(r.clients), String(r.requests), String(r.failed), String(r.tokens), fmt(r.wall_s, 2),
    fmt(r.agg_tok_s), fmt(r.ttft_p50_ms), fmt(r.ttft_p99_ms), fmt(r.itl_p50_ms), fmt(r.itl_p99_ms),
    fmt(r.client_tok_s_mean),
  ]);
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---:')), ...rows.map(line)].join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------

const authHeader = (opts) => (opts.apiKey ? { Authorization: `Bearer ${opts.apiKey}` } : {});

async function discoverModel(opts) {
  try {
    const res = await fetch(`${opts.url}/v1/models`, { headers: authHeader(opts), signal: AbortSignal.timeout(10000) });
    if (!res.ok) return undefined;
    const j = await res.json();
    return typeof j?.data?.[0]?.id === 'string' ? j.data[0].id : undefined;
  } catch {
    return undefined;
  }
}

async function main() {
  const opts = parseOptions();
  opts.model ??= await discoverModel(opts);
  opts.promptWords = await calibratePromptWords(opts);
  log(`server ${opts.url}, model ${opts.model ?? '(none given)'}; client counts ${opts.clients.join(', ')}; ` +
      `${opts.requests} request(s) per client, max_tokens ${opts.tokens}, prompts of ~${opts.promptTokens} tokens`);

  let failures = 0;
  if (opts.warmup) {
    log('warm-up request (untimed)');
    const w = await runRequest(opts, nextRequestId++);
    if (w.error) {
      log(`warm-up failed: ${w.error}`);
      failures++;
    }
  }

  const results = [];
  for (const clients of opts.clients) {
    log(`phase: ${clients} client(s) x ${opts.requests} request(s)`);
    const r = await runPhase(opts, clients);
    results.push(r);
    failures += r.failed;
    log(`  ${r.tokens} tokens in ${fmt(r.wall_s, 2)} s = ${fmt(r.agg_tok_s)} tok/s; ` +
        `TTFT p50 ${fmt(r.ttft_p50_ms)} ms; ITL p50 ${fmt(r.itl_p50_ms)} ms; ${r.failed} failed` +
        (r.prompt_tokens_mean !== null ? `; prompts ${fmt(r.prompt_tokens_mean, 0)} tokens on average` : ''));
    if (!r.usage_reported && r.requests > r.failed)
      log('  note: the server sent no usage.completion_tokens; tokens were counted as text chunks');
    if (r.chunks < r.tokens)
      log(`  note: ${r.tokens} tokens arrived in ${r.chunks} text chunks (some chunks carried several tokens or none)`);
    if (r.short_requests > 0)
      log(`  note: ${r.short_requests} request(s) stopped before max_tokens (EOS or stop)`);
    for (const e of r.errors) log(`  error: ${e}`);
  }

  process.stdout.write(opts.json ? JSON.stringify(results, null, 2) + '\n' : markdownTable(results));
  if (failures > 0) {
    log(`${failures} request(s) failed`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  process.stderr.write(`load_bench: ${e?.stack ?? e}\n`);
  process.exit(1);
});
