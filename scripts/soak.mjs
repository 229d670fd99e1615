#!/usr/bin/env node
// soak.mjs: a bounded soak run against one OpenAI-compatible server (`moxing serve`).
//
// Node 20 or newer, no npm dependencies. scripts/soak.sh starts a server and runs this against it.
//
// Usage:
//   node scripts/soak.mjs --pid PID [--url http://127.0.0.1:8080] [--minutes 20] [--clients 16]
//        [--warmup-minutes 2] [--tokens 48] [--malformed-every 10] [--overctx-every 10]
//        [--oversized-every 50] [--max-body-mib 8] [--rss-interval 10] [--json FILE]
//
//   --pid              the server's process id: its VmRSS is read from /proc/PID/status
//   --minutes          how long clients keep starting requests (fractions allowed, e.g. 0.5)
//   --clients          streaming client loops; the first third (rounded) of them disconnect
//                      mid-stream: they abort each normal stream after 1-4 events
//   --warmup-minutes   the RSS baseline is the first sample taken after this long
//   --tokens           max_tokens of a normal streaming request
//   --malformed-every  every Nth request of a client is a body that is not JSON (expects 400)
//   --overctx-every    every Nth request is a prompt longer than the context (expects 400)
//   --oversized-every  every Nth request is a body larger than the server's limit (expects 413)
//   --max-body-mib     the server's body limit (moxing: 8 MiB); oversized bodies are 1 MiB more
//   --rss-interval     seconds between RSS samples
//   --json FILE        also write the full result (per-minute table, RSS samples, counts) to FILE
//
// Injected kinds are chosen by each client's own request number n (0-based), in this order:
// oversized if n % oversized-every == oversized-every - 1, else malformed if
// n % malformed-every == 3, else over-context if n % overctx-every == 6, else a normal stream.
// So the injection rate is fixed and known, and the same from run to run.
//
// Counted as failures: any 5xx; an injected request answered with anything other than its
// expected status; a normal stream that is not 200, breaks off, or ends without data: [DONE];
// a network error. Aborted streams are the client's doing and are not failures.
//
// At the end the clients stop starting requests, the ones in flight finish, and the script
// waits (up to 60 s) for /metrics to show no running or queued sequence. Then it checks:
//   1. RSS at the end is within 5% of the RSS after warm-up;
//   2. the KV cache is empty apart from the prefix cache: moxing_active_sequences 0,
//      moxing_queue_length 0, moxing_kv_cache_used_tokens 0 and
//      moxing_kv_cache_pages{state="used"} == moxing_prefix_cache_blocks{state="used"}
//      (the prefix cache's blocks are KV pages it holds; one page per block);
//   3. no unexpected error.
// It prints the per-minute latency table (p50/p99 of the full request time and of time to
// first event, normal completed streams only, by the minute they finished), the counts per
// kind, the RSS samples and PASS or FAIL. Exit code 0 on PASS, 1 on FAIL, 2 for bad arguments.

import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const OPTIONS = {
  url: { type: 'string', default: 'http://127.0.0.1:8080' },
  pid: { type: 'string' },
  minutes: { type: 'string', default: '20' },
  clients: { type: 'string', default: '16' },
  'warmup-minutes': { type: 'string', default: '2' },
  tokens: { type: 'string', default: '48' },
  'malformed-every': { type: 'string', default: '10' },
  'overctx-every': { type: 'string', default: '10' },
  'oversized-every': { type: 'string', default: '50' },
  'max-body-mib': { type: 'string', default: '8' },
  'rss-interval': { type: 'string', default: '10' },
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
};

const USAGE =
  'usage: node scripts/soak.mjs --pid PID [--url URL] [--minutes 20] [--clients 16] [--warmup-minutes 2]\n' +
  '       [--tokens 48] [--malformed-every 10] [--overctx-every 10] [--oversized-every 50]\n' +
  '       [--max-body-mib 8] [--rss-interval 10] [--json FILE]\n' +
  'See the comment at the top of this file for what is checked.\n';

function die(message) {
  process.stderr.write(`soak: ${message}\n`);
  process.exit(2);
}

const log = (message) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

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
  const positive = (name, integer = true) => {
    const n = Number(values[name]);
    if (!(n > 0) || (integer && !Number.isInteger(n))) die(`--${name} must be a positive ${integer ? 'integer' : 'number'}`);
    return n;
  };
  if (!values.pid) die('--pid is required (the server process, for its RSS)');
  return {
    url: values.url.replace(/\/+$/, ''),
    pid: positive('pid'),
    durationMs: positive('minutes', false) * 60000,
    clients: positive('clients'),
    warmupMs: Number(values['warmup-minutes']) * 60000,
    tokens: positive('tokens'),
    malformedEvery: positive('malformed-every'),
    overctxEvery: positive('overctx-every'),
    oversizedEvery: positive('oversized-every'),
    maxBodyBytes: positive('max-body-mib', false) * 1024 * 1024,
    rssIntervalMs: positive('rss-interval', false) * 1000,
    json: values.json,
  };
}

// ---------------------------------------------------------------------------------------------
// Request bodies

const WORDS = 'the cat dog sun tree ran saw big little happy girl boy park ball day played went home'.split(' ');

// A short prompt that differs per request, so the prefix cache sees both hits and misses.
function shortPrompt(n) {
  const words = [];
  for (let i = 0; i < 8 + (n % 8); i++) words.push(WORDS[(n * 7 + i * 3) % WORDS.length]);
  return `Once upon a time ${words.join(' ')}`;
}

// Built once: a JSON body 1 MiB over the limit, and a prompt far longer than any context here.
let oversizedBody;
const overContextPrompt = 'Once upon a time there was a little dog. '.repeat(2000);

function requestFor(opts, client, n, model) {
  const json = (body) => JSON.stringify(model ? { model, ...body } : body);
  if (n % opts.oversizedEvery === opts.oversizedEvery - 1) return { kind: 'oversized', expect: 413, body: oversizedBody };
  if (n % opts.malformedEvery === 3) return { kind: 'malformed', expect: 400, body: '{"prompt": "Once upon a time", "max_tokens": 8,' };
  if (n % opts.overctxEvery === 6) return { kind: 'over_context', expect: 400, body: json({ prompt: overContextPrompt, max_tokens: 8 }) };
  const abortAfter = client < Math.round(opts.clients / 3) ? 1 + (n % 4) : 0;
  return {
    kind: abortAfter ? 'aborted_stream' : 'stream',
    expect: 200,
    abortAfter,
    body: json({ prompt: shortPrompt(client * 100003 + n), max_tokens: opts.tokens, stream: true, seed: n }),
  };
}

// ---------------------------------------------------------------------------------------------
// One request. Returns { kind, status, ok, error?, latencyMs?, ttftMs?, aborted? }.

async function send(opts, req) {
  const start = performance.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('timed out after 120 s')), 120000);
  const out = { kind: req.kind, status: null, ok: false };
  try {
    const res = await fetch(`${opts.url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: req.body,
      signal: controller.signal,
    });
    out.status = res.status;
    if (req.expect !== 200 || res.status !== 200) {
      await res.arrayBuffer().catch(() => {});
      out.ok = res.status === req.expect;
      if (!out.ok) out.error = `HTTP ${res.status}, expected ${req.expect}`;
      return out;
    }
    // A normal stream: count events; the aborting clients stop after a few.
    const decoder = new TextDecoder();
    let buffer = '';
    let events = 0;
    let done = false;
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let sep;
      while ((sep = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, sep);
        buffer = buffer.slice(sep + 2);
        if (!event.startsWith('data:')) continue;
        const data = event.slice(5).trim();
        if (data === '[DONE]') done = true;
        else if (data.includes('"error"')) throw new Error(`error in stream: ${data.slice(0, 200)}`);
        if (++events === 1) out.ttftMs = performance.now() - start;
        if (req.abortAfter && events >= req.abortAfter && !done) {
          out.aborted = true;
          out.ok = true;
          controller.abort(new Error('client disconnect'));
          return out;
        }
      }
    }
    if (!done) throw new Error('the stream ended without data: [DONE]');
    out.ok = true;
    out.latencyMs = performance.now() - start;
    return out;
  } catch (e) {
    if (out.aborted) return out;
    out.ok = false;
    out.error = e?.message ?? String(e);
    if (e?.cause) out.error += ` (${e.cause.code ?? e.cause.message ?? e.cause})`;
    return out;
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Server state: RSS from /proc, gauges from /metrics.

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

async function metrics(opts) {
  const text = await (await fetch(`${opts.url}/metrics`, { signal: AbortSignal.timeout(10000) })).text();
  const values = {};
  for (const line of text.split('\n')) {
    const m = /^(moxing_[a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) values[m[1]] = Number(m[2]);
  }
  return values;
}

async function discoverModel(opts) {
  try {
    const j = await (await fetch(`${opts.url}/v1/models`, { signal: AbortSignal.timeout(10000) })).json();
    return typeof j?.data?.[0]?.id === 'string' ? j.data[0].id : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics: nearest-rank percentiles, as in load_bench.mjs.

function percentile(samples, p) {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
}

const fmt = (x, digits = 1) => (x === null || x === undefined ? '-' : x.toFixed(digits));

// ---------------------------------------------------------------------------------------------

async function main() {
  const opts = parseOptions();
  oversizedBody = Buffer.alloc(opts.maxBodyBytes + (1 << 20), 'a');
  oversizedBody.write('{"prompt": "', 0);
  const model = await discoverModel(opts);
  const before = await metrics(opts);
  const t0 = performance.now();
  const minuteOf = () => Math.floor((performance.now() - t0) / 60000);
  log(`server ${opts.url} (pid ${opts.pid}), model ${model ?? '?'}; ${opts.clients} clients ` +
      `(${Math.round(opts.clients / 3)} disconnect mid-stream) for ${opts.durationMs / 60000} min`);

  // RSS sampler.
  const rss = [{ t_s: 0, kib: rssKiB(opts.pid) }];
  const sampler = setInterval(() => {
    try {
      rss.push({ t_s: Math.round((performance.now() - t0) / 1000), kib: rssKiB(opts.pid) });
    } catch (e) {
      log(`RSS sample failed: ${e.message}`);
    }
  }, opts.rssIntervalMs);

  const counts = {}; // kind -> { sent, ok, failed, aborted }
  const perMinute = []; // minute -> { latency: [], ttft: [], requests: 0 }
  const failures = [];
  const count = (r) => {
    const c = (counts[r.kind] ??= { sent: 0, ok: 0, failed: 0, by_status: {} });
    c.sent++;
    if (r.ok) c.ok++;
    else c.failed++;
    const s = r.aborted ? 'aborted' : r.status ?? 'network';
    c.by_status[s] = (c.by_status[s] ?? 0) + 1;
    const m = (perMinute[minuteOf()] ??= { latency: [], ttft: [], requests: 0 });
    m.requests++;
    if (r.ok && r.latencyMs !== undefined) m.latency.push(r.latencyMs);
    if (r.ok && r.ttftMs !== undefined && !r.aborted) m.ttft.push(r.ttftMs);
    if (!r.ok && failures.length < 1000) failures.push({ minute: minuteOf(), kind: r.kind, error: r.error });
    if (!r.ok) log(`unexpected: ${r.kind}: ${r.error}`);
  };

  const deadline = t0 + opts.durationMs;
  let lastMinute = 0;
  await Promise.all(
    Array.from({ length: opts.clients }, async (_, client) => {
      for (let n = 0; performance.now() < deadline; n++) {
        count(await send(opts, requestFor(opts, client, n, model)));
        if (client === 0 && minuteOf() > lastMinute) {
          const m = perMinute[lastMinute];
          log(`minute ${lastMinute}: ${m?.requests ?? 0} requests, p99 ${fmt(percentile(m?.latency ?? [], 99))} ms, ` +
              `RSS ${rss.at(-1).kib} KiB, failures so far ${failures.length}`);
          lastMinute = minuteOf();
        }
      }
    }),
  );
  clearInterval(sampler);
  const elapsedS = (performance.now() - t0) / 1000;
  log(`clients stopped after ${fmt(elapsedS)} s; waiting for the server to go idle`);

  // Idle: no running or queued sequence (the server may still be noticing the last disconnects).
  let after;
  for (const t = performance.now(); ; await new Promise((r) => setTimeout(r, 500))) {
    after = await metrics(opts);
    if ((after.moxing_active_sequences === 0 && after.moxing_queue_length === 0) || performance.now() - t > 60000) break;
  }
  const rssEnd = rssKiB(opts.pid);
  rss.push({ t_s: Math.round((performance.now() - t0) / 1000), kib: rssEnd, after_idle: true });

  // Checks.
  const warm = rss.find((s) => s.t_s * 1000 >= opts.warmupMs) ?? rss[0];
  const rssDrift = (rssEnd - warm.kib) / warm.kib;
  const pagesUsed = after['moxing_kv_cache_pages{state="used"}'];
  const prefixBlocks = after['moxing_prefix_cache_blocks{state="used"}'];
  const kvEmpty =
    after.moxing_active_sequences === 0 && after.moxing_queue_length === 0 && after.moxing_kv_cache_used_tokens === 0 &&
    pagesUsed === prefixBlocks;
  const checks = [
    { name: `RSS at end within 5% of RSS after warm-up (${warm.kib} KiB at ${warm.t_s} s -> ${rssEnd} KiB, ${fmt(rssDrift * 100, 2)}%)`,
      pass: Math.abs(rssDrift) <= 0.05 },
    { name: `KV cache empty apart from the prefix cache (active ${after.moxing_active_sequences}, queued ${after.moxing_queue_length}, ` +
            `kv tokens ${after.moxing_kv_cache_used_tokens}, pages used ${pagesUsed} = prefix blocks ${prefixBlocks})`,
      pass: kvEmpty },
    { name: `no unexpected errors (${failures.length})`, pass: failures.length === 0 },
  ];
  const delta = (name) => (after[name] ?? 0) - (before[name] ?? 0);
  const server = {
    requests_completions: delta('moxing_requests_total{route="completions"}'),
    requests_failed: delta('moxing_requests_failed_total'),
    requests_finished: delta('moxing_requests_finished_total'),
    requests_cancelled: delta('moxing_requests_cancelled_total'),
    prompt_tokens: delta('moxing_prompt_tokens_total'),
    generated_tokens: delta('moxing_generated_tokens_total'),
    prefix_cache_hit_tokens: delta('moxing_prefix_cache_hit_tokens_total'),
  };
  const minutes = perMinute.map((m, i) => ({
    minute: i,
    requests: m?.requests ?? 0,
    completed_streams: m?.latency.length ?? 0,
    latency_p50_ms: percentile(m?.latency ?? [], 50),
    latency_p99_ms: percentile(m?.latency ?? [], 99),
    ttft_p50_ms: percentile(m?.ttft ?? [], 50),
    ttft_p99_ms: percentile(m?.ttft ?? [], 99),
  }));

  // Report.
  const line = (cells) => `| ${cells.join(' | ')} |`;
  const out = [];
  out.push(`Soak: ${opts.clients} clients for ${fmt(elapsedS / 60, 2)} min against ${opts.url}`, '');
  out.push(line(['minute', 'requests', 'completed streams', 'latency p50 ms', 'latency p99 ms', 'first event p50 ms', 'first event p99 ms']));
  out.push(line(Array(7).fill('---:')));
  for (const m of minutes)
    out.push(line([m.minute, m.requests, m.completed_streams, fmt(m.latency_p50_ms), fmt(m.latency_p99_ms), fmt(m.ttft_p50_ms), fmt(m.ttft_p99_ms)]));
  out.push('', line(['kind', 'sent', 'as expected', 'unexpected', 'by status']), line(['---', '---:', '---:', '---:', '---']));
  for (const [kind, c] of Object.entries(counts))
    out.push(line([kind, c.sent, c.ok, c.failed, Object.entries(c.by_status).map(([s, n]) => `${s}: ${n}`).join(', ')]));
  out.push('', `server counters over the run: ${JSON.stringify(server)}`);
  out.push(`RSS samples (KiB, every ${opts.rssIntervalMs / 1000} s): ${rss.map((s) => s.kib).join(' ')}`);
  out.push(`end state: ${JSON.stringify(Object.fromEntries(Object.entries(after).filter(([k]) => /active|queue|kv_cache|prefix_cache_blocks/.test(k))))}`, '');
  for (const c of checks) out.push(`${c.pass ? 'PASS' : 'FAIL'}  ${c.name}`);
  for (const f of failures.slice(0, 20)) out.push(`  unexpected: minute ${f.minute} ${f.kind}: ${f.error}`);
  const pass = checks.every((c) => c.pass);
  out.push('', pass ? 'SOAK PASS' : 'SOAK FAIL');
  process.stdout.write(out.join('\n') + '\n');
  if (opts.json)
    writeFileSync(opts.json, JSON.stringify({ opts: { ...opts }, elapsed_s: elapsedS, minutes, counts, server, rss, end_metrics: after, checks, failures, pass }, null, 2) + '\n');
  process.exitCode = pass ? 0 : 1;
}

main().catch((e) => {
  process.stderr.write(`soak: ${e?.stack ?? e}\n`);
  process.exit(1);
});
