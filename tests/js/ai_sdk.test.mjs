// An agent loop with the Vercel AI SDK (`ai` + `@ai-sdk/openai-compatible`) against a live
// `moxing serve`: generateText with a tool the SDK executes, a forced call in the first step,
// the result sent back, and a text answer to end on.
//
//   cd tests/js && npm ci            # once
//   MOXING_BIN=build/release/moxing MOXING_SHARED_DIR=/work/shared node --test tests/js/ai_sdk.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateText, streamText, tool, jsonSchema, stepCountIs } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { startServer, KEY } from './moxing_server.mjs';
import { QUESTION, WEATHER_FUNCTION, checkWeatherArgs, weather } from './weather_tool.mjs';

let server, model;
before(async () => {
  server = await startServer();
  model = createOpenAICompatible({ name: 'moxing', baseURL: `${server.base}/v1`, apiKey: KEY })(server.name);
});
after(() => server?.stop());

function agent(seen) {
  return {
    model,
    prompt: QUESTION,
    temperature: 0,
    maxOutputTokens: 200,
    maxRetries: 0,
    tools: {
      get_weather: tool({
        description: WEATHER_FUNCTION.description,
        inputSchema: jsonSchema(WEATHER_FUNCTION.parameters),
        execute: async (args) => { seen.push(args); return weather(args); },
      }),
    },
    // The first step must call the tool, the next ones must answer.
    prepareStep: ({ stepNumber }) => ({ toolChoice: stepNumber === 0 ? 'required' : 'none' }),
    stopWhen: stepCountIs(3),
    // Extra body fields go through under the provider's name: one call, as ONE_FORCED_CALL asks.
    providerOptions: { moxing: { parallel_tool_calls: false } },
  };
}

function checkSteps(steps, seen) {
  assert.equal(seen.length, 1, 'the tool ran once');
  checkWeatherArgs(seen[0]);
  assert.equal(steps.length, 2, `two steps: ${steps.map((s) => s.finishReason)}`);
  const [call, answer] = steps;
  assert.equal(call.finishReason, 'tool-calls');
  assert.equal(call.toolCalls.length, 1);
  assert.equal(call.toolCalls[0].toolName, 'get_weather');
  assert.match(call.toolCalls[0].toolCallId, /^call_\w+$/);
  assert.deepEqual(call.toolCalls[0].input, seen[0]);
  assert.equal(call.toolResults[0].output, weather(seen[0]));
  assert.equal(answer.toolCalls.length, 0);
  assert.ok(['stop', 'length'].includes(answer.finishReason), answer.finishReason);
  // The second request carried the call and its result back.
  const sent = answer.request.body;
  const messages = typeof sent === 'string' ? JSON.parse(sent).messages : sent.messages;
  assert.deepEqual(messages.map((m) => m.role), ['user', 'assistant', 'tool']);
  assert.equal(messages[2].tool_call_id, call.toolCalls[0].toolCallId);
  assert.deepEqual(JSON.parse(messages[1].tool_calls[0].function.arguments), seen[0]);
}

test('generateText: forced tool call, executed, then a text answer', async () => {
  const seen = [];
  const result = await generateText(agent(seen));
  checkSteps(result.steps, seen);
  assert.equal(typeof result.text, 'string');
  assert.ok(result.text.length > 0, 'ends with text');
  assert.equal(result.text, result.steps[1].text);
});

test('streamText: the same loop streamed gives the same call and answer', async () => {
  const whole = [];
  const expected = await generateText(agent(whole));
  const seen = [];
  const result = streamText({ ...agent(seen), onError: ({ error }) => { throw error; } });
  let text = '';
  for await (const delta of result.textStream) text += delta;
  checkSteps(await result.steps, seen);
  assert.deepEqual(seen, whole, 'streamed call = whole call (greedy)');
  assert.equal(text, expected.text);
});
