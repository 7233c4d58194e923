// Tool-call helpers shared by the end-to-end tests.

/** Two tools; the mock backend calls each with {"query": <the user's message>}. */
export const TOOLS = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather by city',
    parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
  { type: 'function', function: { name: 'get_time', description: 'Time by city',
    parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
];

/** Assembles streamed tool-call deltas the way the SDK's users do: by index. */
export function assembleToolCalls(chunks) {
  const calls = [];
  for (const chunk of chunks) {
    for (const delta of chunk.choices.map((c) => c.delta ?? {})) {
      for (const part of delta.tool_calls ?? []) {
        const call = (calls[part.index] ??= { id: '', name: '', arguments: '' });
        call.id += part.id ?? '';
        call.name += part.function?.name ?? '';
        call.arguments += part.function?.arguments ?? '';
      }
    }
  }
  return calls;
}
