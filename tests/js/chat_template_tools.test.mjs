// `moxing serve --chat-template-file`: a Qwen 2.5 template (Hermes-style <tool_call> syntax)
// instead of the model's own, so a forced call is written and parsed in the model family's
// own format; the official openai client sees an ordinary tool call, whole and streamed.
//
//   MOXING_BIN=build/release/moxing MOXING_SHARED_DIR=/work/shared node --test tests/js/chat_template_tools.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import OpenAI from 'openai';
import { startServer, KEY, SHARED } from './moxing_server.mjs';
import { QUESTION, WEATHER_TOOL, ONE_FORCED_CALL, checkWeatherArgs } from './weather_tool.mjs';

let server, client;
before(async () => {
  // The tools' system prompt of this template is long in a 512-token vocabulary.
  const template = path.join(SHARED, 'templates/Qwen-Qwen2.5-7B-Instruct.jinja');
  server = await startServer({ ctx: 2048, args: ['--chat-template-file', template] });
  client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: KEY, maxRetries: 0, timeout: 60_000 });
});
after(() => server?.stop());

const REQUEST = {
  messages: [{ role: 'user', content: QUESTION }],
  tools: [WEATHER_TOOL], ...ONE_FORCED_CALL, max_tokens: 200, temperature: 0,
};

test('a forced call in the template family\'s <tool_call> format, whole and streamed', async () => {
  const whole = await client.chat.completions.create({ model: server.name, ...REQUEST });
  assert.equal(whole.choices[0].finish_reason, 'tool_calls', JSON.stringify(whole));
  const [call] = whole.choices[0].message.tool_calls;
  assert.equal(call.function.name, 'get_weather');
  checkWeatherArgs(JSON.parse(call.function.arguments));

  const final = await client.chat.completions.stream({ model: server.name, ...REQUEST }).finalChatCompletion();
  const [streamed] = final.choices[0].message.tool_calls;
  assert.equal(streamed.function.name, call.function.name);
  assert.equal(streamed.function.arguments, call.function.arguments);
});
