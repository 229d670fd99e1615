// A live `moxing serve` for the client-library tests (not a test itself: ctest runs *.test.mjs).
//
// startServer({model, ctx, parallel, args}) starts it on a free port with the API key KEY and
// resolves once GET /health answers 200; stop() ends it (SIGTERM, then SIGKILL after 5 s);
// signal(SIG) sends one, and `exited` resolves with the exit code (or signal name).
// Every server still running when node exits, or is interrupted, is killed.
//
// MOXING_BIN defaults to <repo>/build/release/moxing, MOXING_SHARED_DIR to <repo>/../shared.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = process.env.MOXING_BIN || path.join(REPO, 'build/release/moxing');
export const SHARED = process.env.MOXING_SHARED_DIR || path.join(REPO, '../shared');
export const STORIES = path.join(SHARED, 'models/stories260K.gguf');
export const TINY_QWEN2 = path.join(SHARED, 'models/tiny/tiny-qwen2-Q8_0.gguf');
export const KEY = 'sk-test-key';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const children = new Set();
function killAll() {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
process.on('exit', killAll);  // also runs after an uncaught exception
for (const [sig, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.on(sig, () => {
    killAll();
    process.exit(128 + number);
  });
}

// -> {base: 'http://127.0.0.1:PORT', name: the served (first) model id, ctx, pid, log(), stop()}
export async function startServer({ model = STORIES, ctx = 1024, parallel = 2, args = [] } = {}) {
  for (const f of [BIN, model]) if (!existsSync(f)) throw new Error(`missing ${f} (set MOXING_BIN / MOXING_SHARED_DIR)`);
  const child = spawn(BIN, ['serve', '-m', model, '--port', '0', '-t', '1', '--parallel', String(parallel), '--api-key', KEY,
                            '-c', String(ctx), ...args],
                      { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let log = '';
  const server = {
    ctx,
    pid: child.pid,
    log: () => log,
    signal: (sig) => child.kill(sig),
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal))),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      children.delete(child);
    },
  };
  try {
    // "listening on" comes first, while the model loads; "serving" once it is in.
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "serving" line within 30 s:\n${log}`)), 30_000);
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (s) => {
        log += s;
        const m = /serving (\S+) on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
        if (m && !server.base) { clearTimeout(timer); [, server.name, server.base] = m; resolve(); }
      });
      child.on('error', (e) => { clearTimeout(timer); reject(e); });
      child.on('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`server exited (${code ?? signal}):\n${log}`)); });
    });
    for (const deadline = Date.now() + 10_000; ;) {
      if (await fetch(`${server.base}/health`).then((r) => r.status === 200, () => false)) break;
      if (Date.now() > deadline) throw new Error(`/health never answered 200:\n${log}`);
      await sleep(50);
    }
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

// GET /metrics as {name_with_labels: number}.
export async function metrics(server) {
  const res = await fetch(`${server.base}/metrics`, { headers: { Authorization: `Bearer ${KEY}` } });
  assert.equal(res.status, 200, 'GET /metrics with the key');
  const out = {};
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-zA-Z_:][^\s]*)\s+(\S+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}
