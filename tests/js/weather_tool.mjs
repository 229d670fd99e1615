// The tool every agent-loop test offers (not a test itself: ctest runs *.test.mjs): the user
// asks QUESTION, the first turn is forced to call get_weather once (ONE_FORCED_CALL), the
// arguments are checked against its schema (checkWeatherArgs), the tool's result (weather())
// goes back, and the model answers in text.

import assert from 'node:assert/strict';

export const QUESTION = 'What is the weather in Paris?';

// name, description and JSON-schema parameters: a Responses API tool as {type: 'function', ...WEATHER_FUNCTION}.
export const WEATHER_FUNCTION = {
  name: 'get_weather',
  description: 'Weather forecast for a city',
  parameters: {
    type: 'object',
    properties: {
      city: { type: 'string', description: 'City name', maxLength: 12 },
      unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
      days: { type: 'integer' },
    },
    required: ['city', 'unit', 'days'],
  },
};

// As Chat Completions' `tools` take it.
export const WEATHER_TOOL = { type: 'function', function: WEATHER_FUNCTION };

// Request fields that force one call: with parallel calls allowed this little story model
// could run on through a long array of them.
export const ONE_FORCED_CALL = { tool_choice: 'required', parallel_tool_calls: false };

// Asserts `args` (an object) satisfies WEATHER_FUNCTION.parameters.
export function checkWeatherArgs(args) {
  assert.ok(args && typeof args === 'object' && !Array.isArray(args), `arguments are an object: ${JSON.stringify(args)}`);
  assert.deepEqual(Object.keys(args).sort(), ['city', 'days', 'unit'], JSON.stringify(args));
  assert.equal(typeof args.city, 'string');
  assert.ok(args.city.length <= 12, `city at most 12 characters: ${JSON.stringify(args.city)}`);
  assert.ok(['celsius', 'fahrenheit'].includes(args.unit), `unit from the enum: ${args.unit}`);
  assert.ok(Number.isInteger(args.days), `days is an integer: ${args.days}`);
}

// What the tool "returns".
export const weather = ({ city, unit, days }) => `${city}: sunny for ${days} day(s), 21 degrees ${unit}`;
