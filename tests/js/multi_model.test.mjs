// One `moxing serve` with two models (stories260K as "stories", tiny-qwen2 as "qwen"), driven
// by the official `openai` client: the list names both with their aliases, requests to both
// at once each get their own model's greedy reply (the same as from a server of that model
// alone), and an unknown model is a NotFoundError. Reports the server's RSS before and after
// both models loaded (informative).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import { startServer, KEY, STORIES, TINY_QWEN2 } from './moxing_server.mjs';

const clientOf = (server) => new OpenAI({ baseURL: `${server.base}/v1`, apiKey: KEY, maxRetries: 0, timeout: 30_000 });
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

let both, storiesAlone, qwenAlone;

before(async () => {
  [both, storiesAlone, qwenAlone] = await Promise.all([
    startServer({ model: STORIES, ctx: 256, args: ['-m', TINY_QWEN2, '--alias', 'stories', '--alias', 'qwen'] }),
    startServer({ model: STORIES, ctx: 256 }),
    startServer({ model: TINY_QWEN2, ctx: 256 }),
  ]);
});

after(async () => {
  await Promise.all([both, storiesAlone, qwenAlone].filter(Boolean).map((s) => s.stop()));
});

const ask = (client, model, stream = false) =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Tell me a story' }], max_tokens: 24,
                                   temperature: 0, stream });

async function text(reply) {
  if (reply.choices) return reply.choices[0].message.content;
  let out = '';
  for await (const chunk of reply) out += chunk.choices[0]?.delta?.content ?? '';
  return out;
}

test('the model list names both models with their aliases, loaded or not', async () => {
  const models = [];
  for await (const m of clientOf(both).models.list()) models.push(m);
  assert.deepEqual(models.map((m) => m.id), ['stories260K', 'tiny-qwen2-Q8_0']);
  assert.deepEqual(models.map((m) => m.aliases), [['stories'], ['qwen']]);
  const one = await clientOf(both).models.retrieve('qwen');
  assert.equal(one.id, 'tiny-qwen2-Q8_0');
});

test('requests to both models at once get each model\'s own reply', async (t) => {
  const rssBefore = rssKiB(both.pid);
  const want = {
    stories: await text(await ask(clientOf(storiesAlone), 'x')),
    qwen: await text(await ask(clientOf(qwenAlone), 'x')),
  };
  assert.notEqual(want.stories, want.qwen);
  const client = clientOf(both);
  const names = ['stories', 'qwen', 'stories260K', 'tiny-qwen2-Q8_0', 'stories', 'qwen'];
  const replies = await Promise.all(names.map(async (name, i) => text(await ask(client, name, i % 3 === 0))));
  names.forEach((name, i) => assert.equal(replies[i], name.startsWith('stories') ? want.stories : want.qwen, `${name} #${i}`));
  const rssLoaded = rssKiB(both.pid);
  t.diagnostic(`server RSS: before any load ${rssBefore} KiB, both models loaded ${rssLoaded} KiB (+${rssLoaded - rssBefore})`);
  const health = await (await fetch(`${both.base}/health`)).json();
  assert.deepEqual(health.models.map((m) => m.state), ['loaded', 'loaded']);
});

test('an unknown model is a NotFoundError naming the models that exist', async () => {
  try {
    await ask(clientOf(both), 'gpt-4o');
    assert.fail('expected a 404');
  } catch (e) {
    assert.ok(e instanceof OpenAI.NotFoundError, `${e?.constructor?.name}: ${e?.message}`);
    assert.equal(e.code, 'model_not_found');
    assert.match(e.message, /stories260K.*tiny-qwen2-Q8_0/);
  }
});
