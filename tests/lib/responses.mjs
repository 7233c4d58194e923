// Helpers for OpenAI's Responses API shared by the integration and end-to-end tests.

/** A response's text, read from its message output items (openai 6's finalResponse() has no output_text). */
export const outputText = (response) => response.output
  .filter((item) => item.type === 'message')
  .flatMap((item) => item.content.map((part) => part.text)).join('');
