// An agent loop with LangChain's ChatOpenAI (`@langchain/openai`) against a live `moxing
// serve`: bindTools with a forced call, an AIMessage whose tool_calls follow the schema, a
// ToolMessage back, and a final answer with no forced tool.
//
//   cd tests/js && npm ci            # once
//   MOXING_BIN=build/release/moxing MOXING_SHARED_DIR=/work/shared node --test tests/js/langchain.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ChatOpenAI } from '@langchain/openai';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { startServer, KEY } from './moxing_server.mjs';
import { QUESTION, WEATHER_TOOL, ONE_FORCED_CALL, checkWeatherArgs, weather } from './weather_tool.mjs';

let server, llm;
before(async () => {
  server = await startServer();
  llm = new ChatOpenAI({ configuration: { baseURL: `${server.base}/v1` }, apiKey: KEY, model: server.name,
                         temperature: 0, maxTokens: 200, maxRetries: 0 });
});
after(() => server?.stop());

test('bindTools required -> AIMessage.tool_calls -> ToolMessage -> final answer', async () => {
  const forced = llm.bindTools([WEATHER_TOOL], ONE_FORCED_CALL);
  const ask = new HumanMessage(QUESTION);
  const ai = await forced.invoke([ask]);
  assert.equal(ai.tool_calls.length, 1, JSON.stringify(ai));
  const call = ai.tool_calls[0];
  assert.equal(call.name, 'get_weather');
  assert.match(call.id, /^call_\w+$/);
  checkWeatherArgs(call.args);
  assert.equal(ai.response_metadata.finish_reason, 'tool_calls');
  assert.deepEqual(ai.invalid_tool_calls ?? [], []);

  const result = new ToolMessage({ tool_call_id: call.id, content: weather(call.args) });
  const final = await llm.bindTools([WEATHER_TOOL], { tool_choice: 'none' }).invoke([ask, ai, result]);
  assert.equal(final.tool_calls.length, 0);
  assert.equal(typeof final.content, 'string');
  assert.ok(final.content.length > 0, 'some text');
  const plain = await llm.invoke([ask, ai, result]);  // no tools at all
  assert.equal(typeof plain.content, 'string');
  assert.ok(plain.content.length > 0);
});

test('streamed: the chunks concatenate to the same tool call', async () => {
  const forced = llm.bindTools([WEATHER_TOOL], ONE_FORCED_CALL);
  const ask = [new HumanMessage(QUESTION)];
  const whole = await forced.invoke(ask);
  let merged;
  for await (const chunk of await forced.stream(ask)) merged = merged ? merged.concat(chunk) : chunk;
  assert.equal(merged.tool_calls.length, 1, JSON.stringify(merged));
  assert.equal(merged.tool_calls[0].name, 'get_weather');
  assert.equal(merged.tool_calls[0].id, merged.tool_call_chunks[0].id);
  assert.deepEqual(merged.tool_calls[0].args, whole.tool_calls[0].args, 'streamed = whole (greedy)');
});
