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
//        [--tenants 0 --system-tokens 800 --conversations 24 --turns 4 --user-tokens 30]
//        [--metrics URL,URL,...]
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
// Conversation mode (--tenants N, N > 0): shared prefixes, as a multi-tenant chat service sees.
//   --tenants        N system prompts of ~--system-tokens tokens each; they differ from their
//                    first words on (so do the request bodies: after the model name, about byte 100)
//   --conversations  conversations per phase; conversation i belongs to tenant i % N
//   --turns          user turns per conversation: turn k sends the system prompt, the k-1
//                    earlier user turns with the replies the server gave, and a new user turn
//                    of ~--user-tokens tokens (but at least its heading and opening phrase,
//                    ~13 words), to POST /v1/chat/completions (streamed). Each prompt therefore
//                    starts with the previous turn's whole prompt.
//   Clients take the next conversation from a shared list when they finish one, so a phase
//   sends conversations x turns requests whatever --clients is (--requests is ignored).
//   --metrics        comma-separated base URLs of the servers behind --url (e.g. the replicas
//                    behind a load balancer): moxing_prompt_tokens_total and
//                    moxing_prefix_cache_hit_tokens_total are read from each one's /metrics
//                    before and after every phase, and the fleet's prefix-cache hit ratio
//                    (sum of hit deltas / sum of prompt-token deltas) and the per-server
//                    split of prompt tokens are reported.
//   The table then also shows requests/s, prompt tokens/s (cached ones included), TTFT p95,
//   and the share of prompt tokens the responses' usage.prompt_tokens_details.cached_tokens
//   says were cached.
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
  tenants: { type: 'string', default: '0' },
  'system-tokens': { type: 'string', default: '800' },
  conversations: { type: 'string', default: '24' },
  turns: { type: 'string', default: '4' },
  'user-tokens': { type: 'string', default: '30' },
  metrics: { type: 'string' },
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
  const tenants = Number(values.tenants);
  if (!Number.isInteger(tenants) || tenants < 0) die(`--tenants must be a non-negative integer, got '${values.tenants}'`);
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
    tenants,
    systemTokens: positiveInt('system-tokens', values['system-tokens']),
    conversations: positiveInt('conversations', values.conversations),
    turns: positiveInt('turns', values.turns),
    userTokens: positiveInt('user-tokens', values['user-tokens']),
    metricsUrls: values.metrics ? values.metrics.split(',').map((u) => u.trim().replace(/\/+$/, '')) : [],
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
  '       [--tenants N --system-tokens 800 --conversations 24 --turns 4 --user-tokens 30] [--metrics URL,...]\n' +
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

// Conversation mode: tenant t's system prompt, and user turn k of conversation c. Both open
// with their own numbers, so system prompts differ from their first words on.
function makeSystemPrompt(tenant, words) {
  return `You are the assistant of tenant ${tenant}. Follow these house notes. ` + makePrompt(1000 + tenant, words);
}

function makeUserTurn(conversation, turn, words) {
  return `Question ${turn + 1} of conversation ${conversation}: ` + makePrompt(100000 + conversation * 100 + turn, words);
}

// How many tokens a word of these prompts makes on this server: tokenize a sample prompt with
// POST /tokenize (moxing and llama-server both have it). Falls back to one token per word when
// the route is missing.
async function tokensPerWord(opts) {
  const sampleWords = Math.max(opts.promptTokens, 200);
  try {
    const res = await fetch(`${opts.url}/tokenize`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...authHeader(opts) },
      body: JSON.stringify({ content: makePrompt(0, sampleWords) }),
      signal: AbortSignal.timeout(10000),
    });
    const tokens = res.ok ? (await res.json())?.tokens : undefined;
    if (Array.isArray(tokens) && tokens.length > 0) {
      log(`POST /tokenize: ${(tokens.length / sampleWords).toFixed(2)} tokens per word`);
      return tokens.length / sampleWords;
    }
  } catch {}
  log('no /tokenize on the server; assuming one token per word');
  return 1;
}

const wordsFor = (tokens, perWord) => Math.max(1, Math.round(tokens / perWord));

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

// `messages`: a chat request to /v1/chat/completions instead of a completion of a fresh prompt.
async function runRequest(opts, id, messages) {
  const body = {
    ...(opts.model ? { model: opts.model } : {}), // before the prompt: a load balancer may hash the body's start
    ...(messages ? { messages } : { prompt: makePrompt(id, opts.promptWords) }),
    max_tokens: opts.tokens,
    ignore_eos: true, // llama-server: generate exactly max_tokens; others ignore the field
    temperature: 0.8,
    seed: opts.seed + id,
    stream: true,
    stream_options: { include_usage: true },
    ...opts.extra,
  };
  const headers = { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...authHeader(opts) };

  const rec = { id, ttftMs: null, itlMs: [], chunks: 0, tokens: 0, promptTokens: null, cachedTokens: null, finishReason: null, text: '' };
  const start = performance.now();
  let last = null;
  let done = false;
  let usage = null;
  try {
    const res = await fetch(`${opts.url}/v1/${messages ? 'chat/completions' : 'completions'}`, {
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
      rec.text += text;
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
  if (Number.isInteger(usage?.prompt_tokens_details?.cached_tokens)) rec.cachedTokens = usage.prompt_tokens_details.cached_tokens;
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

// Conversation mode: one conversation's turns, one after another; each turn carries the
// replies the server gave to the earlier ones.
async function runConversation(opts, conversation, records) {
  const messages = [{ role: 'system', content: opts.systemPrompts[conversation % opts.tenants] }];
  for (let turn = 0; turn < opts.turns; turn++) {
    messages.push({ role: 'user', content: makeUserTurn(conversation, turn, opts.userWords) });
    const rec = await runRequest(opts, nextRequestId++, messages);
    records.push(rec);
    if (rec.error) return; // the rest of this conversation would not share its prefix
    messages.push({ role: 'assistant', content: rec.text });
  }
}

// The fleet's prompt and prefix-cache counters: { url: { prompt, hit } } (null if unreadable).
async function readCacheCounters(opts) {
  const out = {};
  for (const url of opts.metricsUrls) {
    try {
      const text = await (await fetch(`${url}/metrics`, { headers: authHeader(opts), signal: AbortSignal.timeout(10000) })).text();
      const value = (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
      out[url] = { prompt: value('moxing_prompt_tokens_total'), hit: value('moxing_prefix_cache_hit_tokens_total') };
    } catch (e) {
      log(`could not read ${url}/metrics: ${e.message}`);
      out[url] = null;
    }
  }
  return out;
}

async function runPhase(opts, clients) {
  const before = await readCacheCounters(opts);
  const phaseStart = performance.now();
  let nextConversation = 0;
  const perClient = await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const records = [];
      const clientStart = performance.now();
      if (opts.tenants > 0) {
        while (nextConversation < opts.conversations) await runConversation(opts, nextConversation++, records);
      } else {
        for (let r = 0; r < opts.requests; r++) records.push(await runRequest(opts, nextRequestId++));
      }
      return { client: c, records, elapsedMs: performance.now() - clientStart };
    }),
  );
  const wallMs = performance.now() - phaseStart;
  const after = await readCacheCounters(opts);
  let fleet = null;
  if (opts.metricsUrls.length > 0 && opts.metricsUrls.every((u) => before[u] && after[u])) {
    const d = opts.metricsUrls.map((u) => ({ url: u, prompt: after[u].prompt - before[u].prompt, hit: after[u].hit - before[u].hit }));
    const prompt = d.reduce((s, x) => s + x.prompt, 0);
    const hit = d.reduce((s, x) => s + x.hit, 0);
    fleet = { prompt_tokens: prompt, hit_tokens: hit, hit_ratio: prompt > 0 ? hit / prompt : null, per_server: d };
  }

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
  const promptSum = promptTokens.reduce((s, x) => s + x, 0);
  const cachedSum = ok.reduce((s, r) => s + (r.cachedTokens ?? 0), 0);
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
    requests_per_s: ok.length / (wallMs / 1000),
    prompt_tok_s: promptSum / (wallMs / 1000),
    usage_cached_ratio: promptSum > 0 ? cachedSum / promptSum : null,
    fleet_cache: fleet,
    ttft_p50_ms: percentile(ttft, 50),
    ttft_p95_ms: percentile(ttft, 95),
    ttft_p99_ms: percentile(ttft, 99),
    itl_p50_ms: percentile(itl, 50),
    itl_p99_ms: percentile(itl, 99),
    client_tok_s_mean: mean(clientRates),
  };
}

// ---------------------------------------------------------------------------------------------
// Output

const fmt = (x, digits = 1) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits));

function markdownTable(opts, results) {
  if (opts.tenants > 0) return conversationTable(results);
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

function conversationTable(results) {
  const header = [
    'clients', 'requests', 'failed', 'wall s', 'req/s', 'gen tok/s', 'prompt tok/s', 'TTFT p50 ms', 'TTFT p95 ms',
    'TTFT p99 ms', 'cached (usage)', 'fleet hit ratio', 'prompt tokens per server',
  ];
  const pct = (x) => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);
  const rows = results.map((r) => [
    String(r.clients), String(r.requests), String(r.failed), fmt(r.wall_s, 2), fmt(r.requests_per_s, 2), fmt(r.agg_tok_s),
    fmt(r.prompt_tok_s), fmt(r.ttft_p50_ms), fmt(r.ttft_p95_ms), fmt(r.ttft_p99_ms), pct(r.usage_cached_ratio),
    pct(r.fleet_cache?.hit_ratio), r.fleet_cache ? r.fleet_cache.per_server.map((s) => s.prompt).join(' / ') : '-',
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
  const perWord = await tokensPerWord(opts);
  opts.promptWords = wordsFor(opts.promptTokens, perWord);
  if (opts.tenants > 0) {
    opts.systemPrompts = Array.from({ length: opts.tenants }, (_, t) => makeSystemPrompt(t, wordsFor(opts.systemTokens, perWord)));
    opts.userWords = wordsFor(opts.userTokens, perWord);
    log(`server ${opts.url}, model ${opts.model ?? '(none given)'}; client counts ${opts.clients.join(', ')}; ` +
        `${opts.tenants} tenants with system prompts of ~${opts.systemTokens} tokens, ${opts.conversations} conversations ` +
        `x ${opts.turns} turns (user turns of ~${opts.userTokens} tokens), max_tokens ${opts.tokens}`);
  } else {
    log(`server ${opts.url}, model ${opts.model ?? '(none given)'}; client counts ${opts.clients.join(', ')}; ` +
        `${opts.requests} request(s) per client, max_tokens ${opts.tokens}, prompts of ~${opts.promptTokens} tokens`);
  }

  let failures = 0;
  if (opts.warmup) {
    log('warm-up request (untimed)');
    // In conversation mode a chat request that shares no prefix with the workload.
    const w = await runRequest(opts, nextRequestId++, opts.tenants > 0 ? [{ role: 'user', content: 'Hello.' }] : undefined);
    if (w.error) {
      log(`warm-up failed: ${w.error}`);
      failures++;
    }
  }

  const results = [];
  for (const clients of opts.clients) {
    log(`phase: ${clients} client(s) x ` +
        (opts.tenants > 0 ? `${opts.conversations} conversations x ${opts.turns} turns, shared` : `${opts.requests} request(s)`));
    const r = await runPhase(opts, clients);
    results.push(r);
    failures += r.failed;
    log(`  ${r.tokens} tokens in ${fmt(r.wall_s, 2)} s = ${fmt(r.agg_tok_s)} tok/s; ` +
        `TTFT p50 ${fmt(r.ttft_p50_ms)} ms; ITL p50 ${fmt(r.itl_p50_ms)} ms; ${r.failed} failed` +
        (r.prompt_tokens_mean !== null ? `; prompts ${fmt(r.prompt_tokens_mean, 0)} tokens on average` : '') +
        (r.fleet_cache ? `; fleet prefix-cache hit ratio ${fmt(100 * (r.fleet_cache.hit_ratio ?? NaN))}%` : ''));
    if (!r.usage_reported && r.requests > r.failed)
      log('  note: the server sent no usage.completion_tokens; tokens were counted as text chunks');
    if (r.chunks < r.tokens)
      log(`  note: ${r.tokens} tokens arrived in ${r.chunks} text chunks (some chunks carried several tokens or none)`);
    if (r.short_requests > 0)
      log(`  note: ${r.short_requests} request(s) stopped before max_tokens (EOS or stop)`);
    for (const e of r.errors) log(`  error: ${e}`);
  }

  process.stdout.write(opts.json ? JSON.stringify(results, null, 2) + '\n' : markdownTable(opts, results));
  if (failures > 0) {
    log(`${failures} request(s) failed`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  process.stderr.write(`load_bench: ${e?.stack ?? e}\n`);
  process.exit(1);
});
