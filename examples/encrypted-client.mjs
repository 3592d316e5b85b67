// @ts-check
// End-to-end encrypted requests over plain HTTP with token.place's own client: the
// request is sealed with HPKE to the node's key (verified against its PeerId), so any
// proxy or gateway on the way sees only ciphertext.
//
//   node examples/encrypted-client.mjs [peerId]
//
// Pin the node's PeerId (printed in its startup banner) to detect a swapped key;
// without it the client trusts the PeerId the node presents on first contact.
import { TokenPlaceClient } from 'token.place/client';

const client = new TokenPlaceClient({
  baseURL: process.env.TOKENPLACE_BASE_URL ?? 'http://127.0.0.1:8000/v1',
  ...(process.argv[2] ? { peerId: process.argv[2] } : {}),
  ...(process.env.TOKENPLACE_API_KEY ? { apiKey: process.env.TOKENPLACE_API_KEY } : {}),
});

const model = process.env.TOKENPLACE_MODEL ?? 'demo';
for await (const chunk of client.streamChatCompletion({
  model,
  messages: [{ role: 'user', content: 'Hello over an encrypted channel!' }],
})) {
  process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
}
process.stdout.write(`\n(sealed end to end to ${client.pinnedPeerId})\n`);
