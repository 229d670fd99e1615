// OpenAI's Responses API with the official `openai` npm client against a live `moxing serve`:
// responses.create whole and streamed (the SDK's own event accumulation gives the same text),
// a forced function call (grammar-constrained to the tool's schema) and its output sent back
// as a function_call_output item, then the same continuation by previous_response_id.
//
//   cd tests/js && npm ci            # once
//   MOXING_BIN=build/release/moxing MOXING_SHARED_DIR=/work/shared node --test tests/js/openai_responses.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, KEY } from './moxing_server.mjs';
import { QUESTION, WEATHER_FUNCTION, ONE_FORCED_CALL, checkWeatherArgs } from './weather_tool.mjs';

let server, client;
before(async () => {
  server = await startServer();
  client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: KEY, maxRetries: 0, timeout: 60_000 });
});
after(() => server?.stop());

const TOOLS = [{ type: 'function', ...WEATHER_FUNCTION }];

test('responses.create whole and streamed give the same text', async () => {
  const ask = { model: server.name, input: 'Once upon a time', max_output_tokens: 40, temperature: 0 };
  const whole = await client.responses.create(ask);
  assert.equal(whole.object, 'response');
  assert.ok(['completed', 'incomplete'].includes(whole.status), whole.status);
  assert.ok(whole.output_text.length > 0, JSON.stringify(whole));
  assert.ok(whole.usage.output_tokens > 0);

  const stream = client.responses.stream(ask);
  let deltas = '';
  stream.on('response.output_text.delta', (e) => { deltas += e.delta; });
  const final = await stream.finalResponse();
  assert.equal(deltas, whole.output_text);
  assert.equal(final.output_text, whole.output_text);
});

test('a forced function call, its output sent back, and the same by previous_response_id', async () => {
  const first = await client.responses.create({
    model: server.name, input: QUESTION, tools: TOOLS, ...ONE_FORCED_CALL, max_output_tokens: 200, temperature: 0,
  });
  const calls = first.output.filter((item) => item.type === 'function_call');
  assert.equal(calls.length, 1, JSON.stringify(first.output));
  assert.equal(calls[0].name, 'get_weather');
  checkWeatherArgs(JSON.parse(calls[0].arguments));

  const output = { type: 'function_call_output', call_id: calls[0].call_id, output: '{"forecast": "sunny"}' };
  const again = await client.responses.create({
    model: server.name, tools: TOOLS, tool_choice: 'none', max_output_tokens: 30, temperature: 0,
    input: [{ role: 'user', content: QUESTION }, calls[0], output],
  });
  assert.ok(again.output_text.length > 0, JSON.stringify(again));

  const chained = await client.responses.create({
    model: server.name, previous_response_id: first.id, tools: TOOLS, tool_choice: 'none',
    max_output_tokens: 30, temperature: 0, input: [output],
  });
  assert.equal(chained.output_text, again.output_text);
});

test('errors arrive as the SDK error classes', async () => {
  await assert.rejects(client.responses.create({ model: server.name, input: 42 }), (e) => e instanceof OpenAI.BadRequestError);
  await assert.rejects(client.responses.create({ model: server.name, input: 'hi', previous_response_id: 'resp_missing' }),
                       (e) => e instanceof OpenAI.BadRequestError);
});
