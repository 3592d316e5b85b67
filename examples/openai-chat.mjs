// @ts-check
// Chat with a token.place node through the official OpenAI SDK, unchanged: only the
// base URL differs. Start a node first (`npm start`, or `token.place node`), then:
//
//   node examples/openai-chat.mjs "Write a haiku about peer-to-peer networks"
//
// Environment: TOKENPLACE_BASE_URL (default http://127.0.0.1:8000/v1),
// TOKENPLACE_MODEL (default: the first model the node lists), TOKENPLACE_API_KEY.
import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: process.env.TOKENPLACE_BASE_URL ?? 'http://127.0.0.1:8000/v1',
  apiKey: process.env.TOKENPLACE_API_KEY ?? 'not-needed-on-localhost',
});

const prompt = process.argv.slice(2).join(' ') || 'Hello! Who are you?';
const model = process.env.TOKENPLACE_MODEL ?? (await client.models.list()).data[0]?.id;
if (model == null) {
  console.error('The node serves no models.');
  process.exit(1);
}

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: prompt }],
  stream: true,
  stream_options: { include_usage: true },
});
for await (const chunk of stream) {
  process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
  if (chunk.usage)
    console.error(
      `\n[${model}: ${chunk.usage.prompt_tokens} prompt + ${chunk.usage.completion_tokens} completion tokens]`,
    );
}
process.stdout.write('\n');
