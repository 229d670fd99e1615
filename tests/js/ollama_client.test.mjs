// Drives a live `moxing serve` with the official `ollama` npm client: chat and generate,
// whole and streamed, list/show/ps/version, embed/embeddings and errors.
//
//   cd tests/js && npm ci            # once
//   MOXING_BIN=build/release/moxing MOXING_SHARED_DIR=/work/shared \
//     node --test tests/js/ollama_client.test.mjs
//
// One server: stories260K, -c 256, an API key passed as the client's header.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ollama } from 'ollama';
import { startServer, KEY } from './moxing_server.mjs';

let server, ollama;
before(async () => {
  server = await startServer({ ctx: 256 });
  ollama = new Ollama({ host: server.base, headers: { Authorization: `Bearer ${KEY}` } });
});
after(() => server?.stop());

const MESSAGES = [{ role: 'user', content: 'Tell a story' }];
const OPTIONS = { temperature: 0, num_predict: 24 };

function assertFinal(r) {
  assert.equal(r.done, true);
  assert.ok(['stop', 'length'].includes(r.done_reason), r.done_reason);
  for (const k of ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_count', 'eval_duration'])
    assert.ok(Number.isInteger(r[k]), `${k} is an integer`);
  assert.ok(r.prompt_eval_count > 0);
  assert.ok(!Number.isNaN(Date.parse(r.created_at)), r.created_at);
}

test('chat: whole and streamed give the same text', async () => {
  const whole = await ollama.chat({ model: 'stories', messages: MESSAGES, options: OPTIONS });
  assertFinal(whole);
  assert.equal(whole.model, 'stories');
  assert.equal(whole.message.role, 'assistant');
  assert.ok(whole.message.content.length > 0);
  assert.ok(whole.eval_count <= 24);

  let text = '';
  let last = null;
  for await (const part of await ollama.chat({ model: 'stories', messages: MESSAGES, options: OPTIONS, stream: true })) {
    text += part.message.content;
    last = part;
  }
  assertFinal(last);
  assert.equal(text, whole.message.content);
  assert.equal(last.eval_count, whole.eval_count);
});

test('generate: raw and templated, whole and streamed; options honoured', async () => {
  const r = await ollama.generate({ model: 'stories', prompt: 'Once upon a time', raw: true, options: { temperature: 0, num_predict: 16 } });
  assertFinal(r);
  assert.equal(r.done_reason, 'length');
  assert.equal(r.eval_count, 16);
  assert.ok(r.response.startsWith(', there was '), r.response);

  let text = '';
  for await (const part of await ollama.generate({ model: 'stories', prompt: 'Once upon a time', raw: true, stream: true,
                                                   options: { temperature: 0, num_predict: 16 } }))
    text += part.response;
  assert.equal(text, r.response);

  const stopped = await ollama.generate({ model: 'stories', prompt: 'Once upon a time', raw: true, options: { temperature: 0, stop: ['was'] } });
  assert.equal(stopped.response, ', there ');

  const templated = await ollama.generate({ model: 'stories', prompt: 'Once upon a time', system: 'Be brief.', options: OPTIONS });
  assertFinal(templated);
  assert.ok(templated.prompt_eval_count > r.prompt_eval_count);

  const json = await ollama.generate({ model: 'stories', prompt: 'A number', format: { type: 'integer' }, options: { temperature: 0, num_predict: 8 } });
  assert.ok(Number.isInteger(JSON.parse(json.response)), json.response);
});

test('list, show, ps and version', async () => {
  const list = await ollama.list();
  assert.equal(list.models.length, 1);
  const m = list.models[0];
  assert.equal(m.name, `${server.name}:latest`);
  assert.equal(m.details.format, 'gguf');
  assert.equal(m.details.family, 'llama');
  assert.match(m.digest, /^[0-9a-f]{64}$/);
  assert.ok(m.size > 0);
  assert.ok(m.modified_at instanceof Date || !Number.isNaN(Date.parse(m.modified_at)));

  const show = await ollama.show({ model: m.name });
  assert.equal(typeof show.template, 'string');
  assert.match(show.modelfile, /^FROM /m);
  assert.equal(show.model_info['general.architecture'], 'llama');
  assert.deepEqual(show.details, m.details);

  const ps = await ollama.ps();
  assert.equal(ps.models[0].name, m.name);
  assert.equal(ps.models[0].context_length, 256);

  const v = await ollama.version();
  assert.match(v.version, /^\d+\.\d+\.\d+$/);
});

test('embed and embeddings', async () => {
  const e = await ollama.embed({ model: 'stories', input: ['Once upon a time', 'The cat sat'] });
  assert.equal(e.embeddings.length, 2);
  assert.ok(e.embeddings[0].length > 0);
  const one = await ollama.embeddings({ model: 'stories', prompt: 'Once upon a time' });
  assert.deepEqual(one.embedding, e.embeddings[0]);
});

test('errors are the client\'s ResponseError with the status and message', async () => {
  await assert.rejects(ollama.generate({ model: 'stories', prompt: 'a', suffix: 'b' }),
                       (e) => e.name === 'ResponseError' && e.status_code === 400 && /suffix/.test(e.error));
  await assert.rejects(ollama.chat({ model: 'stories', messages: MESSAGES, options: { temperature: 'hot' } }),
                       (e) => e.name === 'ResponseError' && e.status_code === 400 && /temperature/.test(e.error));
});
