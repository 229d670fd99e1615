// A live `moxing serve` for the client-library tests (not a test itself: ctest runs *.test.mjs).
//
// startServer(model, ctx, extraArgs) starts it on a free port with an API key and resolves once GET
// /health answers 200; stop() ends it (SIGTERM, then SIGKILL after 5 s). Every server still
// running when node exits is killed.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = process.env.MOXING_BIN || path.join(REPO, 'build/release/moxing');
export const SHARED = process.env.MOXING_SHARED_DIR || path.join(REPO, '../shared');
export const STORIES = path.join(SHARED, 'models/stories260K.gguf');
export const KEY = 'sk-test-key';

const children = new Set();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

// -> {base: 'http://127.0.0.1:PORT', name: the served model id, log(), stop()}
export async function startServer(model = STORIES, ctx = 1024, extraArgs = []) {
  for (const f of [BIN, model]) if (!existsSync(f)) throw new Error(`missing ${f} (set MOXING_BIN / MOXING_SHARED_DIR)`);
  const child = spawn(BIN, ['serve', '-m', model, '--port', '0', '-t', '1', '--parallel', '2', '--api-key', KEY, '-c', String(ctx), ...extraArgs],
                      { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let log = '';
  const server = {
    log: () => log,
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
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "serving" line within 30 s:\n${log}`)), 30_000);
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (s) => {
        log += s;
        const m = /serving (\S+) on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
        if (m && !server.base) { clearTimeout(timer); [, server.name, server.base] = m; resolve(); }
      });
      child.on('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`server exited (${code ?? signal}):\n${log}`)); });
    });
    for (const deadline = Date.now() + 10_000; ;) {
      if (await fetch(`${server.base}/health`).then((r) => r.status === 200, () => false)) break;
      if (Date.now() > deadline) throw new Error(`/health never answered 200:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

// The tool every test offers, as OpenAI's `function.parameters`.
export const WEATHER_PARAMETERS = {
  type: 'object',
  properties: {
    city: { type: 'string', description: 'City name', maxLength: 12 },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer' },
  },
  required: ['city', 'unit', 'days'],
};

// Asserts `args` (an object) satisfies WEATHER_PARAMETERS.
export function checkWeatherArgs(assert, args) {
  assert.ok(args && typeof args === 'object' && !Array.isArray(args), `arguments are an object: ${JSON.stringify(args)}`);
  assert.deepEqual(Object.keys(args).sort(), ['city', 'days', 'unit'], JSON.stringify(args));
  assert.equal(typeof args.city, 'string');
  assert.ok(args.city.length <= 12, `city at most 12 characters: ${JSON.stringify(args.city)}`);
  assert.ok(['celsius', 'fahrenheit'].includes(args.unit), `unit from the enum: ${args.unit}`);
  assert.ok(Number.isInteger(args.days), `days is an integer: ${args.days}`);
}

// What the tool "returns".
export const weather = ({ city, unit, days }) => `${city}: sunny for ${days} day(s), 21 degrees ${unit}`;
