// An agent loop with the official `openai` npm client against a live `moxing serve`: a forced
// tool call (grammar-constrained to the tool's schema), the result sent back as a `tool`
// message, a final text answer; the same call streamed; the SDK's runTools helper (one forced
// round only: its final round would go through the SDK's parser, which throws on
// finish_reason length, and stories260K's prose answers run long).
//
//   cd tests/js && npm ci            # once
//   MOXING_BIN=build/release/moxing MOXING_SHARED_DIR=/work/shared node --test tests/js/openai_tools.test.mjs
//
// stories260K has no chat template, so the server uses ChatML and its generic JSON tool-call
// format ({"tool_call": {"name": ..., "arguments": {...}}}), whose grammar forces a valid call.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, KEY } from './moxing_server.mjs';
import { QUESTION, WEATHER_FUNCTION, WEATHER_TOOL, ONE_FORCED_CALL, checkWeatherArgs, weather } from './weather_tool.mjs';

let server, client;
before(async () => {
  server = await startServer();
  client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: KEY, maxRetries: 0, timeout: 60_000 });
});
after(() => server?.stop());

const TOOLS = [WEATHER_TOOL];
const ASK = { role: 'user', content: QUESTION };
const FORCED = { tools: TOOLS, ...ONE_FORCED_CALL, max_tokens: 200, temperature: 0 };

test('required tool call -> tool message -> final text answer', async () => {
  const first = await client.chat.completions.create({ model: server.name, messages: [ASK], ...FORCED });
  const choice = first.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls', JSON.stringify(first));
  assert.equal(choice.message.role, 'assistant');
  assert.equal(choice.message.tool_calls.length, 1);
  const call = choice.message.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.match(call.id, /^call_\w+$/);
  assert.equal(call.function.name, 'get_weather');
  const args = JSON.parse(call.function.arguments);
  checkWeatherArgs(args);

  // The assistant turn goes back as the SDK returned it, followed by the tool's result.
  const messages = [ASK, choice.message, { role: 'tool', tool_call_id: call.id, content: weather(args) }];
  for (const tool_choice of ['none', 'auto']) {
    const final = await client.chat.completions.create({ model: server.name, messages, tools: TOOLS, tool_choice, max_tokens: 40, temperature: 0 });
    const m = final.choices[0].message;
    if (tool_choice === 'none') {
      assert.equal(typeof m.content, 'string', JSON.stringify(final));
      assert.ok(m.content.length > 0, 'some text');
      assert.ok(!m.tool_calls?.length, 'no call with tool_choice none');
      assert.ok(['stop', 'length'].includes(final.choices[0].finish_reason));
    } else {
      // auto: the model may call again or answer; either way a well-formed reply.
      assert.ok(typeof m.content === 'string' || m.tool_calls?.length, JSON.stringify(final));
    }
  }
});

test('the same call streamed: delta.tool_calls reassemble, finish_reason tool_calls', async () => {
  const req = { model: server.name, messages: [ASK], ...FORCED };
  const whole = (await client.chat.completions.create(req)).choices[0].message.tool_calls[0];

  const calls = [];
  let finish = null, pieces = 0;
  for await (const chunk of await client.chat.completions.create({ ...req, stream: true })) {
    const ch = chunk.choices[0];
    if (!ch) continue;
    if (ch.finish_reason) finish = ch.finish_reason;
    for (const d of ch.delta.tool_calls ?? []) {
      if (!calls[d.index]) {  // the first chunk of a call: id, type and name
        assert.equal(d.index, calls.length);
        assert.match(d.id, /^call_\w+$/);
        assert.equal(d.type, 'function');
        assert.equal(d.function.name, 'get_weather');
        calls[d.index] = { id: d.id, name: d.function.name, arguments: d.function.arguments ?? '' };
      } else {
        assert.equal(d.id, undefined, 'the id comes once');
        calls[d.index].arguments += d.function.arguments;
        pieces++;
      }
    }
  }
  assert.equal(finish, 'tool_calls');
  assert.equal(calls.length, 1);
  assert.ok(pieces >= 1, 'the arguments follow the first chunk');
  assert.equal(calls[0].arguments, whole.function.arguments, 'streamed = whole (greedy)');
  checkWeatherArgs(JSON.parse(calls[0].arguments));

  // The SDK's stream helper accumulates the same call.
  const final = await client.chat.completions.stream(req).finalChatCompletion();
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  assert.deepEqual(final.choices[0].message.tool_calls.map((c) => c.function), [whole.function]);
});

test('runTools with a named function: the SDK parses the arguments, runs the tool, adds its result', async () => {
  const seen = [];
  const runner = client.chat.completions.runTools({
    model: server.name, messages: [ASK], max_tokens: 200, temperature: 0, parallel_tool_calls: false,
    // A named function: the runner stops once it has run it (with 'required' it would call on every round).
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    tools: [{
      type: 'function',
      function: {
        ...WEATHER_FUNCTION,
        parse: JSON.parse,
        function: (args) => { checkWeatherArgs(args); seen.push(args); return weather(args); },
      },
    }],
  });
  await runner.done();
  assert.equal(seen.length, 1, 'the tool ran once');
  const [user, assistant, tool] = runner.messages;
  assert.deepEqual([user.role, assistant.role, tool.role], ['user', 'assistant', 'tool']);
  assert.equal(tool.tool_call_id, assistant.tool_calls[0].id);
  assert.equal(tool.content, weather(seen[0]));
  assert.equal((await runner.finalFunctionToolCall()).name, 'get_weather');
});
