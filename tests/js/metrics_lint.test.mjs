// GET /metrics of a live `moxing serve` (stories260K) after a few requests: `promtool check
// metrics` finds no problem in it, and the series the deployment reads are there with the
// types they need: the endpoint picker's engine config (deploy/kubernetes/overlays/
// inference-gateway/epp-config.yaml) and the HPA's metric (deploy/kubernetes/base/hpa.yaml).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { startServer, KEY } from './moxing_server.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const K8S = path.join(REPO, 'deploy/kubernetes');
const PROMTOOL = process.env.PROMTOOL || '/usr/bin/promtool';
const PREFIX_CACHE = 4096;  // positions: 128 blocks of 32

// promtool's verdict on an exposition: {status, output}.
function promtool(text) {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`${PROMTOOL}: ${r.error.message} (scripts/setup.sh installs prometheus)`);
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

// The metric names the endpoint picker's moxing engine config reads, by role.
function eppSpecs() {
  const cm = YAML.parse(readFileSync(path.join(K8S, 'overlays/inference-gateway/epp-config.yaml'), 'utf8'));
  const config = YAML.parse(cm.data['epp-config.yaml']);
  const extractor = config.plugins.find((p) => p.type === 'core-metrics-extractor');
  const engine = extractor.parameters.engineConfigs.find((e) => e.name === extractor.parameters.defaultEngine);
  const name = (spec) => spec.split('{')[0];
  return { queued: name(engine.queuedRequestsSpec), running: name(engine.runningRequestsSpec), kv: name(engine.kvUsageSpec),
    cacheInfo: name(engine.cacheInfoSpec) };
}

// {name: type} from the # TYPE lines, and the sample lines.
function parse(text) {
  const types = {};
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types[m[1]] = m[2];
  return { types, samples: text.split('\n').filter((l) => l && !l.startsWith('#')) };
}

let server;
let text;
before(async () => {
  server = await startServer({ ctx: 256, args: ['--prefix-cache', String(PREFIX_CACHE)] });
  const post = (route, body) => fetch(`${server.base}${route}`, {
    method: 'POST', headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  }).then(async (r) => assert.equal(r.status, 200, await r.text()));
  // The same long prompt twice: the second restores its first blocks from the prefix cache.
  const prompt = 'Once upon a time there was a little girl named Lily. She loved to play outside in the park with her dog. '.repeat(2);
  await post('/v1/completions', { prompt, max_tokens: 4 });
  await post('/v1/completions', { prompt, max_tokens: 4 });
  await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 });
  const res = await fetch(`${server.base}/metrics`, { headers: { Authorization: `Bearer ${KEY}` } });
  assert.equal(res.status, 200);
  text = await res.text();
});
after(() => server?.stop());

test('promtool check metrics finds no problem in /metrics', () => {
  const { status, output } = promtool(text);
  assert.equal(output, '', `promtool says:\n${output}`);
  assert.equal(status, 0);
});

test('promtool does catch problems (the check above can fail)', () => {
  const bad = promtool('# HELP requests Requests.\n# TYPE requests counter\nrequests 1\n');
  assert.notEqual(bad.status, 0);
  assert.match(bad.output, /counter metrics should have "_total" suffix/);
});

test("the endpoint picker's and the HPA's metrics are there, with the types they need", () => {
  const { types, samples } = parse(text);
  const specs = eppSpecs();
  for (const role of ['queued', 'running', 'kv', 'cacheInfo']) assert.equal(types[specs[role]], 'gauge', `${role}: ${specs[role]}`);
  const hpa = YAML.parse(readFileSync(path.join(K8S, 'base/hpa.yaml'), 'utf8'));
  for (const m of hpa.spec.metrics) assert.equal(types[m.pods.metric.name], 'gauge', m.pods.metric.name);

  const value = (name) => Number(samples.find((l) => l.startsWith(`${name} `))?.split(' ')[1]);
  const kv = value(specs.kv);
  assert.ok(kv >= 0 && kv <= 1, `KV cache use is a fraction: ${kv}`);
  assert.equal(value(specs.queued), 0, 'nothing waits once the requests are done');
  const info = samples.find((l) => l.startsWith(`${specs.cacheInfo}{`));
  // The picker reads these two labels by name; the cache types ride along as vLLM's cache_dtype.
  assert.match(info, new RegExp(`[{,]block_size="32"[,}]`));
  assert.match(info, new RegExp(`[{,]num_gpu_blocks="${PREFIX_CACHE / 32}"\\} 1$`));
  assert.match(info, /[{,]cache_dtype="f16",cache_dtype_v="f16"[,}]/);

  const queried = value('moxing_prefix_cache_queried_tokens_total');
  const hits = value('moxing_prefix_cache_hit_tokens_total');
  assert.equal(types.moxing_prefix_cache_queried_tokens_total, 'counter');
  assert.ok(hits >= 32 && queried > hits, `the repeated prompt hit the prefix cache: ${hits} of ${queried}`);
});
