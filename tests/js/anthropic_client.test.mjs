// Drives a live `moxing serve` with the official `@anthropic-ai/sdk` client: messages whole
// and streamed (the same text), stop_sequences, count_tokens, errors and the API key in
// x-api-key (the SDK's own header).
//
//   cd tests/js && npm ci            # once
//   MOXING_BIN=build/release/moxing MOXING_SHARED_DIR=/work/shared \
//     node --test tests/js/anthropic_client.test.mjs
//
// One server: stories260K, -c 256, an API key.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startServer, KEY } from './moxing_server.mjs';

let server, client, wrongKey;
before(async () => {
  server = await startServer({ ctx: 256 });
  client = new Anthropic({ apiKey: KEY, baseURL: server.base, maxRetries: 0 });
  wrongKey = new Anthropic({ apiKey: 'sk-wrong', baseURL: server.base, maxRetries: 0 });
});
after(() => server?.stop());

const REQUEST = { model: 'stories', max_tokens: 24, temperature: 0, messages: [{ role: 'user', content: 'Tell a story' }] };

const textOf = (m) => m.content.filter((b) => b.type === 'text').map((b) => b.text).join('');

test('messages: whole and streamed give the same text', async () => {
  const whole = await client.messages.create(REQUEST);
  assert.equal(whole.type, 'message');
  assert.equal(whole.role, 'assistant');
  assert.equal(whole.model, 'stories');
  assert.ok(whole.id.startsWith('msg_'), whole.id);
  assert.ok(['end_turn', 'max_tokens'].includes(whole.stop_reason), whole.stop_reason);
  assert.ok(whole.usage.input_tokens > 0 && whole.usage.output_tokens <= 24);
  const text = textOf(whole);
  assert.ok(text.length > 0);

  // The raw events, in order.
  const events = [];
  let streamed = '';
  for await (const e of await client.messages.create({ ...REQUEST, stream: true })) {
    events.push(e.type);
    if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') streamed += e.delta.text;
  }
  assert.equal(streamed, text);
  assert.equal(events[0], 'message_start');
  assert.deepEqual(events.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);

  // The SDK's stream helper puts the same message back together.
  const final = await client.messages.stream(REQUEST).finalMessage();
  assert.equal(textOf(final), text);
  assert.equal(final.stop_reason, whole.stop_reason);
  assert.equal(final.usage.output_tokens, whole.usage.output_tokens);
});

test('stop_sequences and max_tokens end the reply', async () => {
  const text = textOf(await client.messages.create(REQUEST));
  const stop = text.slice(10, 14);
  const stopped = await client.messages.create({ ...REQUEST, stop_sequences: [stop] });
  assert.equal(stopped.stop_reason, 'stop_sequence');
  assert.equal(stopped.stop_sequence, stop);
  assert.equal(textOf(stopped), text.slice(0, text.indexOf(stop)));
  const short = await client.messages.create({ ...REQUEST, max_tokens: 2 });
  assert.equal(short.stop_reason, 'max_tokens');
  assert.equal(short.usage.output_tokens, 2);
});

test('count_tokens matches the message usage', async () => {
  const system = [{ type: 'text', text: 'You tell short stories.' }];
  const whole = await client.messages.create({ ...REQUEST, system });
  const { max_tokens, temperature, ...counted } = REQUEST;
  const count = await client.messages.countTokens({ ...counted, system });
  assert.equal(count.input_tokens, whole.usage.input_tokens);
});

test('errors reach the client as its error classes', async () => {
  await assert.rejects(
    client.messages.create({ ...REQUEST, messages: [{ role: 'user', content: [{ type: 'video', url: 'x' }] }] }),
    (e) => e instanceof Anthropic.BadRequestError && e.status === 400 && /video/.test(e.message));
  await assert.rejects(client.messages.create({ model: 'stories', messages: REQUEST.messages }),
                       (e) => e instanceof Anthropic.BadRequestError && /max_tokens/.test(e.message));
  await assert.rejects(wrongKey.messages.create(REQUEST), (e) => e instanceof Anthropic.AuthenticationError && e.status === 401);
});
