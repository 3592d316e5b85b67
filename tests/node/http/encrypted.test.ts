// Encrypted mode over HTTP: the client library seals, the node answers sealed frames,
// and whatever sits on the HTTP path sees only ciphertext.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TokenPlaceClient, TokenPlaceAPIError } from '../../../node/client/index.js';
import {
  decodeMessage,
  fromBase64Url,
  NodeToClientInferenceMessage,
  sealInferenceRequest,
  SEALED_REQUEST_CONTENT_TYPE,
  SEALED_RESPONSE_CONTENT_TYPE,
  selectKeyRecord,
  toBase64Url,
  FrameDecoder,
} from '../../../protocol/index.js';
import { DEMO_ANSWER, startTestNode, type TestNode } from '../../helpers/node.js';

let node: TestNode;
let peerId: string;

beforeAll(async () => {
  node = await startTestNode();
  peerId = node.identity.peerId.toString();
});
afterAll(() => node?.dispose());

/** A recording HTTP proxy: forwards to the node and keeps every byte it carried. */
async function recordingProxy(
  target: URL,
): Promise<{ url: string; seen: () => Buffer; close: () => Promise<void> }> {
  const chunks: Buffer[] = [];
  const server: Server = createServer((req, res) => {
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: target.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on('data', (c: Buffer) => {
          chunks.push(c);
          res.write(c);
        });
        up.on('end', () => res.end());
      },
    );
    req.on('data', (c: Buffer) => {
      chunks.push(c);
      upstream.write(c);
    });
    req.on('end', () => upstream.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    seen: () => Buffer.concat(chunks),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('encrypted mode over HTTP', () => {
  it('round-trips a chat completion and a streamed one through the client library', async () => {
    const client = new TokenPlaceClient({ baseURL: node.apiUrl, peerId });
    const res = (await client.createChatCompletion({
      model: 'demo',
      messages: [{ role: 'user', content: 'hi' }],
    })) as {
      choices: Array<{ message: { content: string } }>;
    };
    expect(res.choices[0]!.message.content).toBe(DEMO_ANSWER);
    let text = '';
    let chunks = 0;
    for await (const chunk of client.streamChatCompletion({
      model: 'demo',
      messages: [{ role: 'user', content: 'hi' }],
    })) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(text).toBe(DEMO_ANSWER);
    // The first token at once, the rest of the text, then finish_reason.
    expect(chunks).toBeGreaterThanOrEqual(3);
    let completion = '';
    for await (const chunk of client.streamCompletion({
      model: 'demo',
      prompt: 'abc',
      max_tokens: 5,
    })) {
      completion += chunk.choices[0]?.text ?? '';
    }
    expect(completion).toBe('defgh');
  });

  it('a proxy on the path carries no plaintext of the prompt or the answer', async () => {
    const proxy = await recordingProxy(new URL(node.apiUrl));
    try {
      const sentinel = 'SENTINEL-d41d8cd98f00b204';
      const client = new TokenPlaceClient({ baseURL: proxy.url, peerId });
      let text = '';
      for await (const chunk of client.streamChatCompletion({
        model: 'demo',
        messages: [{ role: 'user', content: sentinel }],
      })) {
        text += chunk.choices[0]?.delta?.content ?? '';
      }
      expect(text).toBe(DEMO_ANSWER);
      const seen = proxy.seen().toString('latin1');
      expect(seen.length).toBeGreaterThan(1000);
      expect(seen).not.toContain(sentinel);
      expect(seen).not.toContain('SENTINEL');
      expect(seen).not.toContain('tiny test model');
      expect(seen).not.toContain('Hello!');
    } finally {
      await proxy.close();
    }
  });

  it('refuses a node whose key record does not match the pinned PeerId', async () => {
    const other = await startTestNode();
    try {
      // The HTTP path now leads to a different node than the one the client pinned.
      const client = new TokenPlaceClient({ baseURL: other.apiUrl, peerId });
      await expect(
        client.createChatCompletion({ model: 'demo', messages: [{ role: 'user', content: 'x' }] }),
      ).rejects.toMatchObject({
        name: 'InvalidSignatureError',
      });
    } finally {
      await other.dispose();
    }
  });

  it('answers a tampered body with one generic decryption error, and keeps serving', async () => {
    const keys = (await (await fetch(`${node.apiUrl}/public-key`)).json()) as {
      keyRecords: unknown[];
    };
    const key = await selectKeyRecord(keys.keyRecords, peerId);
    const { message } = await sealInferenceRequest(key, {
      endpoint: 'chat.completions',
      body: { model: 'demo', messages: [{ role: 'user', content: 'x' }] },
    });
    const ct = fromBase64Url(message.ct);
    ct[3]! ^= 0x40;
    const res = await fetch(`${node.apiUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': SEALED_REQUEST_CONTENT_TYPE },
      body: JSON.stringify({ ...message, ct: toBase64Url(ct) }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe(SEALED_RESPONSE_CONTENT_TYPE);
    const frames = new FrameDecoder().push(new Uint8Array(await res.arrayBuffer()));
    expect(frames).toHaveLength(1);
    expect(decodeMessage(frames[0]!, NodeToClientInferenceMessage)).toEqual({
      type: 'error',
      code: 'decrypt_failed',
      message: 'decryption failed',
    });
    const client = new TokenPlaceClient({ baseURL: node.apiUrl, peerId });
    const ok = (await client.createChatCompletion({
      model: 'demo',
      messages: [{ role: 'user', content: 'x' }],
    })) as {
      choices: Array<{ message: { content: string } }>;
    };
    expect(ok.choices[0]!.message.content).toBe(DEMO_ANSWER);
  });

  it('refuses a replayed sealed request', async () => {
    const keys = (await (await fetch(`${node.apiUrl}/public-key`)).json()) as {
      keyRecords: unknown[];
    };
    const key = await selectKeyRecord(keys.keyRecords, peerId);
    const { message } = await sealInferenceRequest(key, {
      endpoint: 'completions',
      body: { model: 'demo', prompt: 'a', max_tokens: 2 },
    });
    const send = () =>
      fetch(`${node.apiUrl}/completions`, {
        method: 'POST',
        headers: { 'content-type': SEALED_REQUEST_CONTENT_TYPE },
        body: JSON.stringify(message),
      });
    expect((await send()).status).toBe(200);
    const replay = await send();
    expect(replay.status).toBe(400);
    const frames = new FrameDecoder().push(new Uint8Array(await replay.arrayBuffer()));
    expect(decodeMessage(frames[0]!, NodeToClientInferenceMessage)).toMatchObject({
      type: 'error',
      code: 'replayed_request',
    });
  });

  it('surfaces OpenAI errors from inside the sealed stream', async () => {
    const client = new TokenPlaceClient({ baseURL: node.apiUrl, peerId });
    const err = await client
      .createChatCompletion({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenPlaceAPIError);
    expect(err).toMatchObject({ status: 404, error: { code: 'model_not_found' } });
  });

  it('refuses a request sealed for the other endpoint', async () => {
    const keys = (await (await fetch(`${node.apiUrl}/public-key`)).json()) as {
      keyRecords: unknown[];
    };
    const key = await selectKeyRecord(keys.keyRecords, peerId);
    const { message, reader } = await sealInferenceRequest(key, {
      endpoint: 'completions',
      body: { model: 'demo', prompt: 'a' },
    });
    const res = await fetch(`${node.apiUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': SEALED_REQUEST_CONTENT_TYPE },
      body: JSON.stringify(message),
    });
    const frames = new FrameDecoder().push(new Uint8Array(await res.arrayBuffer()));
    const events = [];
    for (const f of frames) {
      events.push(...(await reader.accept(decodeMessage(f, NodeToClientInferenceMessage))));
    }
    expect(events).toEqual([expect.objectContaining({ type: 'error', status: 400 })]);
  });
});
