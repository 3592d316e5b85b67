// Bad input gets an OpenAI-shaped error with the right status, and the node keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { DEMO_ANSWER, startTestNode, type TestNode } from '../../helpers/node.js';

let node: TestNode;
let client: OpenAI;

beforeAll(async () => {
  node = await startTestNode();
  client = new OpenAI({ baseURL: node.apiUrl, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => node?.dispose());

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${node.apiUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return {
    status: res.status,
    headers: res.headers,
    json: (await res.json()) as { error: Record<string, unknown> },
  };
}

function expectErrorShape(json: { error: Record<string, unknown> }): void {
  expect(Object.keys(json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof json.error.message).toBe('string');
  expect((json.error.message as string).length).toBeGreaterThan(10);
}

async function stillServes(): Promise<void> {
  const res = await client.chat.completions.create({
    model: 'demo',
    messages: [{ role: 'user', content: 'x' }],
  });
  expect(res.choices[0]!.message.content).toBe(DEMO_ANSWER);
}

describe('OpenAI-shaped errors', () => {
  it('unknown model: 404 model_not_found', async () => {
    const err = await client.chat.completions
      .create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err).toMatchObject({
      status: 404,
      code: 'model_not_found',
      param: 'model',
      type: 'invalid_request_error',
    });
    await stillServes();
  });

  it('malformed JSON: 400 invalid_request_error', async () => {
    const { status, json } = await post('/chat/completions', '{"model": "demo", "messages": [');
    expect(status).toBe(400);
    expectErrorShape(json);
    expect(json.error.type).toBe('invalid_request_error');
    await stillServes();
  });

  it('wrong types: 400 naming the parameter', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ model: 'demo', messages: 'hello' }, 'messages'],
      [
        { model: 'demo', messages: [{ role: 'user', content: 'x' }], temperature: 'hot' },
        'temperature',
      ],
      [{ model: 'demo', messages: [{ role: 'user', content: 'x' }], max_tokens: -5 }, 'max_tokens'],
      [{ model: 42, messages: [{ role: 'user', content: 'x' }] }, 'model'],
      [{ model: 'demo', messages: [{ role: 'wizard', content: 'x' }] }, 'messages.0.role'],
    ];
    for (const [body, param] of cases) {
      const { status, json } = await post('/chat/completions', JSON.stringify(body));
      expect(status).toBe(400);
      expectErrorShape(json);
      expect(json.error.param).toBe(param);
    }
    await stillServes();
  });

  it('n: 2 is refused with 400, never silently ignored', async () => {
    const err = await client.chat.completions
      .create({ model: 'demo', n: 2, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ status: 400, param: 'n', code: 'unsupported_parameter' });
    await stillServes();
  });

  it('unsupported or unknown parameters are refused with 400', async () => {
    const tools = await post(
      '/chat/completions',
      JSON.stringify({
        model: 'demo',
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'function', function: { name: 'f', parameters: {} } }],
      }),
    );
    expect(tools.status).toBe(400);
    expect(tools.json.error.param).toBe('tools');
    const unknown = await post(
      '/chat/completions',
      JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'x' }], frobnicate: 1 }),
    );
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.message).toBe('Unrecognized request argument supplied: frobnicate');
    const image = await post(
      '/chat/completions',
      JSON.stringify({
        model: 'demo',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
      }),
    );
    expect(image.status).toBe(400);
    expect(image.json.error.message).toMatch(/Only text content/);
  });

  it('oversized body: 413', async () => {
    const huge = JSON.stringify({
      model: 'demo',
      messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024) }],
    });
    const { status, json } = await post('/chat/completions', huge);
    expect(status).toBe(413);
    expectErrorShape(json);
    expect(json.error.code).toBe('request_too_large');
    await stillServes();
  });

  it('oversized body without a Content-Length (chunked): 413 all the same', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(256 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"model":"demo","prompt":"'));
        if (sent >= 8) return controller.close();
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${node.apiUrl}/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'request_too_large',
    );
    await stillServes();
  });

  it('unknown URL: 404 in the OpenAI shape', async () => {
    const res = await fetch(`${node.apiUrl}/embeddings`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expectErrorShape((await res.json()) as { error: Record<string, unknown> });
  });

  it('CORS: loopback origins are allowed, others are not', async () => {
    const ok = await fetch(`${node.apiUrl}/models`, {
      headers: { origin: 'http://localhost:5173' },
    });
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const other = await fetch(`${node.apiUrl}/models`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('CORS: a streamed answer carries the same headers as any other response', async () => {
    const stream = async (origin: string) => {
      const res = await fetch(`${node.apiUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin },
        body: JSON.stringify({
          model: 'demo',
          messages: [{ role: 'user', content: 'hi' }],
          stream: true,
        }),
      });
      await res.text();
      return res;
    };
    const ok = await stream('http://localhost:5173');
    expect(ok.headers.get('content-type')).toBe('text/event-stream');
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(ok.headers.get('vary')).toMatch(/origin/i);
    const other = await stream('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses Host names other than localhost (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${node.apiUrl}/models`,
        { headers: { host: 'rebind.evil.example' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });
});

describe('API key', () => {
  it('answers 401 for a missing or wrong key and serves with the right one', async () => {
    const secured = await startTestNode({ apiKey: 'sesame-0123456789' });
    try {
      const wrong = new OpenAI({ baseURL: secured.apiUrl, apiKey: 'wrong', maxRetries: 0 });
      const err = await wrong.models.list().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(err).toMatchObject({ status: 401, code: 'invalid_api_key' });
      const none = await fetch(`${secured.apiUrl}/models`);
      expect(none.status).toBe(401);
      const right = new OpenAI({
        baseURL: secured.apiUrl,
        apiKey: 'sesame-0123456789',
        maxRetries: 0,
      });
      const res = await right.chat.completions.create({
        model: 'demo',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(res.choices[0]!.message.content).toBe(DEMO_ANSWER);
      // The public key stays public: clients need it before they can seal anything.
      expect((await fetch(`${secured.apiUrl}/public-key`)).status).toBe(200);
    } finally {
      await secured.dispose();
    }
  });
});
