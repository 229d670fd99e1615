// SIGTERM on a live `moxing serve` with streaming clients (the official `openai` package), as
// Kubernetes or systemd stop it: readiness fails and new requests get 503 at once while
// liveness holds, every stream in flight runs to its end, and the process exits 0; a second
// SIGTERM ends the drain at once.
//
// The clients stop reading after their first chunk until the drain has begun: with replies of
// megabytes (8 choices, 20 logprobs alternatives per token) the server cannot finish them
// meanwhile. stories260K slows down past its 512-token training context: the bulk comes from
// choices, not length.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, KEY, STORIES, sleep } from './moxing_server.mjs';

const BIG_STREAM = {
  model: 'moxing', messages: [{ role: 'user', content: 'Tell me a story' }], max_tokens: 480, n: 8, stream: true,
  logprobs: true, top_logprobs: 20, ignore_eos: true, loop_guard: 'off',
};

// Starts `n` streams; resolves once each has its first chunk, with `finish()` resuming them
// all: -> [{finishReason (of every choice, comma-separated if they differ), finished (choices
// that ended), chunks}] once every stream has ended.
async function heldStreams(client, n) {
  const iterators = [];
  for (let i = 0; i < n; ++i) {
    const stream = await client.chat.completions.create(BIG_STREAM);
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);
    iterators.push(it);
  }
  return {
    finish: () => Promise.all(iterators.map(async (it) => {
      const reasons = new Set();
      let chunks = 1, finished = 0;
      for (let r = await it.next(); !r.done; r = await it.next()) {
        ++chunks;
        for (const c of r.value.choices) if (c.finish_reason) { reasons.add(c.finish_reason); ++finished; }
      }
      return { finishReason: [...reasons].join(','), finished, chunks };
    })),
  };
}

// Resolves with the exit code (or signal) once the process exits, or 'timeout'.
function exitWithin(server, ms) {
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), ms); });
  return Promise.race([server.exited, timeout]).finally(() => clearTimeout(timer));
}

async function waitForStatus(url, status) {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(20)) {
    const r = await fetch(url).catch(() => null);
    if (r?.status === status) return;
  }
  assert.fail(`${url} never answered ${status}`);
}

test('SIGTERM drains: streams in flight finish, new requests get 503, exit 0', async () => {
  const server = await startServer({ model: STORIES, ctx: 512, parallel: 24, args: ['--drain-timeout', '60'] });
  try {
    const client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: KEY, maxRetries: 0, timeout: 120_000 });
    const streams = await heldStreams(client, 3);
    server.signal('SIGTERM');
    await waitForStatus(`${server.base}/health/ready`, 503);
    assert.equal((await fetch(`${server.base}/health/live`)).status, 200, 'liveness holds while draining');
    assert.equal((await fetch(`${server.base}/health`)).status, 503);
    const refused = await fetch(`${server.base}/v1/chat/completions`, {
      method: 'POST', headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }),
    });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal((await refused.json()).error.code, 'shutting_down');

    const ended = await streams.finish();
    for (const e of ended) {
      assert.equal(e.finishReason, 'length', 'each choice ran to max_tokens, not cut');
      assert.equal(e.finished, 8);
    }
    assert.equal(await exitWithin(server, 30_000), 0, server.log());
    assert.match(server.log(), /draining: 3 requests in flight/);
    assert.match(server.log(), /drained: every request has ended/);
  } finally {
    await server.stop();
  }
});

test('a second SIGTERM during the drain stops at once; the streams still end properly', async () => {
  const server = await startServer({ model: STORIES, ctx: 512, parallel: 16, args: ['--drain-timeout', '600'] });
  try {
    const client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: KEY, maxRetries: 0, timeout: 120_000 });
    const streams = await heldStreams(client, 2);
    server.signal('SIGTERM');
    await waitForStatus(`${server.base}/health/ready`, 503);
    server.signal('SIGTERM');
    const ended = streams.finish();
    assert.equal(await exitWithin(server, 30_000), 0, server.log());  // far within the 600 s drain timeout
    for (const e of await ended) {
      assert.equal(e.finished, 8, 'every choice ends with its finish_reason');
      assert.ok(e.finishReason.split(',').every((r) => ['stop', 'length'].includes(r)), JSON.stringify(e));
    }
    assert.match(server.log(), /stopping now/);
  } finally {
    await server.stop();
  }
});
