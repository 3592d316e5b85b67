/**
 * The node's OpenAI-compatible HTTP API (hono), served on localhost by default, under
 * both `/v1` and `/api/v1`:
 *
 * - `GET models`, `GET models/{id}`
 * - `POST chat/completions`, `POST completions` — JSON (with SSE streaming), or
 *   encrypted mode: `Content-Type: application/vnd.tokenplace.sealed-request`, answered
 *   with sealed frames (docs/PROTOCOL.md, "Encrypted mode over HTTP")
 * - `GET public-key` — the node's signed key records
 * - `GET /healthz`
 *
 * OpenAI's error shape everywhere; CORS for browser callers (loopback origins unless
 * configured); an optional bearer API key; and, when bound to loopback, a Host check
 * that stops DNS-rebinding pages from using the node.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { logger } from '@libp2p/logger';
import {
  ClientToNodeRequest,
  decodeMessage,
  encodeFrame,
  MAX_INFERENCE_FRAME_BYTES,
  SEALED_REQUEST_CONTENT_TYPE as SEALED_REQUEST_TYPE,
  SEALED_RESPONSE_CONTENT_TYPE as SEALED_RESPONSE_TYPE,
  ProtocolError,
  type InferenceEndpoint,
  type NodeToClientInferenceMessage,
  type ReplayGuard,
  type ResponseEvent,
  SEALED_ERROR_HTTP_STATUS,
  StreamingBody,
  writeSseBatches,
  type SseSink,
} from '../../protocol/index.js';
import type { Keyring } from '../keyring.js';
import type { InferenceService } from '../service.js';
import { serveSealedRequest } from '../sealed.js';
import { invalidRequest, modelNotFound, OpenAIError } from '../openai/errors.js';

const log = logger('tokenplace:node:http');

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  ms: number;
  sealed: boolean;
}

export interface HttpApiInit {
  service: InferenceService;
  keyring: Keyring;
  replay: ReplayGuard;
  peerId: string;
  /** Require `Authorization: Bearer <apiKey>` on the API (not on /healthz or public-key). */
  apiKey?: string;
  /** Allowed CORS origins; `*` allows any. Empty: loopback origins only. */
  corsOrigins?: readonly string[];
  /** Accept only these Host names (any port); undefined accepts any. */
  allowedHosts?: readonly string[];
  /** Called after each API request (for the CLI's request log; ids and timings only). */
  onRequest?(record: RequestRecord): void;
}

/**
 * Streaming responses declare chunked encoding up front: without it @hono/node-server
 * waits a timer tick for the body to end (to compute a Content-Length) before sending
 * anything, which would delay the first token.
 */
const STREAM_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'transfer-encoding': 'chunked',
} as const;

const LOOPBACK_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

function errorResponse(c: Context, err: OpenAIError): Response {
  if (err.retryAfterMs != null)
    c.header('Retry-After', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
  return c.json({ error: err.toBody() }, err.status as 400);
}

function eventErrorResponse(
  c: Context,
  event: Extract<ResponseEvent, { type: 'error' }>,
): Response {
  if (event.retryAfterMs != null)
    c.header('Retry-After', String(Math.max(1, Math.ceil(event.retryAfterMs / 1000))));
  return c.json({ error: event.error }, event.status as 400);
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Where a streamed answer's server-sent events go: Node's socket, or a web stream. */
interface ResponseSink extends SseSink {
  end(): void;
}

/**
 * Writes the first batch at once (synchronously, before the caller returns), then each
 * later batch of the service in one write, and ends the sink after the batch that ends
 * the answer; `done` runs in any case.
 */
function pumpSse(
  first: ResponseEvent[],
  batches: AsyncGenerator<ResponseEvent[]>,
  sink: ResponseSink,
  done: () => void,
): void {
  void (async () => {
    try {
      await writeSseBatches(first, batches, sink);
    } catch (err) {
      log('stream ended early: %s', (err as Error).name);
    } finally {
      sink.end();
      done();
      await batches.return(undefined);
    }
  })();
}

/**
 * Streams server-sent events straight to Node's response: the head and the first batch
 * go out at once, and each later batch in one more write. Under
 * @hono/node-server this skips the web ReadableStream between the handler and the
 * socket, which costs the first token most of a millisecond on a small machine. The
 * headers middleware set on the context (CORS) go out with it. A client that goes away
 * aborts the request's signal (the server wires it to the socket), which stops the
 * generation.
 */
function streamToSocket(
  c: Context,
  outgoing: ServerResponse,
  first: ResponseEvent[],
  events: AsyncGenerator<ResponseEvent[]>,
  done: () => void,
): void {
  const headers: Record<string, string> = {};
  c.res.headers.forEach((value, name) => {
    headers[name] = value;
  });
  Object.assign(headers, STREAM_HEADERS);
  const origin = headers['access-control-allow-origin'];
  if (origin != null && origin !== '*') headers.vary = 'Origin';
  outgoing.writeHead(200, headers);
  const drained = (): Promise<void> =>
    new Promise((resolve) => {
      const settle = (): void => {
        outgoing.off('drain', settle);
        outgoing.off('close', settle);
        resolve();
      };
      outgoing.on('drain', settle);
      outgoing.on('close', settle);
    });
  pumpSse(
    first,
    events,
    {
      get closed() {
        return outgoing.destroyed;
      },
      write: (text) => (outgoing.write(text) ? Promise.resolve() : drained()),
      end: () => outgoing.end(),
    },
    done,
  );
}

export function createHttpApi(init: HttpApiInit): Hono {
  const app = new Hono();
  const origins = init.corsOrigins ?? [];

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    if (c.req.path !== '/healthz') {
      init.onRequest?.({
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
        sealed: (c.req.header('content-type') ?? '').startsWith(SEALED_REQUEST_TYPE),
      });
    }
  });

  if (init.allowedHosts != null) {
    const allowed = new Set(init.allowedHosts.map((h) => h.toLowerCase()));
    app.use('*', async (c, next) => {
      const host = (c.req.header('host') ?? '').toLowerCase().replace(/:\d+$/, '');
      if (!allowed.has(host)) {
        return errorResponse(
          c,
          new OpenAIError(
            403,
            `Host '${host}' is not allowed: this node only answers requests addressed to localhost.`,
            'invalid_request_error',
            { code: 'host_not_allowed' },
          ),
        );
      }
      return next();
    });
  }

  app.use(
    '*',
    cors({
      origin: (origin) =>
        origins.includes('*')
          ? '*'
          : origins.includes(origin) || LOOPBACK_ORIGIN.test(origin)
            ? origin
            : null,
      allowHeaders: [
        'authorization',
        'content-type',
        'openai-organization',
        'openai-project',
        'x-stainless-*',
      ],
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      maxAge: 600,
    }),
  );

  app.get('/healthz', (c) =>
    c.json({
      status: 'ok',
      peerId: init.peerId,
      models: init.service.listModels().map((m) => m.id),
      load: init.service.engine?.load() ?? null,
    }),
  );

  const api = new Hono();

  api.get('/public-key', (c) =>
    c.json({ peerId: init.peerId, keyRecords: init.keyring.records() }),
  );

  if (init.apiKey != null) {
    const key = init.apiKey;
    api.use('*', async (c, next) => {
      if (c.req.method === 'OPTIONS' || c.req.path.endsWith('/public-key')) return next();
      const header = c.req.header('authorization') ?? '';
      const match = /^Bearer\s+(.+)$/i.exec(header);
      if (match == null || !sameSecret(match[1]!.trim(), key)) {
        return errorResponse(
          c,
          new OpenAIError(
            401,
            match == null
              ? 'Missing API key: send Authorization: Bearer <key>.'
              : 'Incorrect API key provided.',
            'invalid_request_error',
            {
              code: 'invalid_api_key',
            },
          ),
        );
      }
      return next();
    });
  }

  api.get('/models', async (c) => {
    await init.service.freshModels();
    return c.json({ object: 'list', data: init.service.listModels() });
  });
  api.get('/models/:id{.+}', async (c) => {
    await init.service.freshModels();
    const id = c.req.param('id');
    const model = init.service.getModel(id);
    return model == null ? errorResponse(c, modelNotFound(id)) : c.json(model);
  });

  const bodyLimited = bodyLimit({
    maxSize: MAX_INFERENCE_FRAME_BYTES,
    onError: (c) => {
      // The rest of the body is never read, so the connection cannot be reused.
      c.header('connection', 'close');
      return errorResponse(
        c,
        new OpenAIError(
          413,
          `Request body too large: the limit is ${MAX_INFERENCE_FRAME_BYTES} bytes.`,
          'invalid_request_error',
          {
            code: 'request_too_large',
          },
        ),
      );
    },
  });

  // A body with a Content-Length is checked by its header alone: hono's bodyLimit would
  // first turn the request into a full web Request (its body a web stream, ~1 ms), which
  // also takes @hono/node-server's direct read of the body off the table. Chunked bodies
  // are counted by bodyLimit as they are read.
  const limit: MiddlewareHandler = async (c, next) => {
    const length = c.req.header('content-length');
    if (length == null || c.req.header('transfer-encoding') != null) return bodyLimited(c, next);
    if (!/^\d+$/.test(length) || Number(length) > MAX_INFERENCE_FRAME_BYTES) {
      return bodyLimited(c, next);
    }
    await next();
  };

  const generate = (endpoint: InferenceEndpoint) => async (c: Context) => {
    const type = c.req.header('content-type') ?? '';
    if (type.startsWith(SEALED_REQUEST_TYPE)) return sealed(c, endpoint);
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return errorResponse(
        c,
        invalidRequest(
          'We could not parse the JSON body of your request. The body must be valid JSON (Content-Type: application/json).',
        ),
      );
    }
    return plain(c, endpoint, body);
  };

  async function plain(c: Context, endpoint: InferenceEndpoint, body: unknown): Promise<Response> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(new Error('client went away'));
    c.req.raw.signal.addEventListener('abort', onAbort, { once: true });
    const events = init.service.run(endpoint, body, { signal: controller.signal });
    const first = await events.next();
    if (first.done === true) {
      c.req.raw.signal.removeEventListener('abort', onAbort);
      return errorResponse(
        c,
        new OpenAIError(500, 'The request produced no answer.', 'server_error'),
      );
    }
    const event = first.value[0]!;
    if (event.type !== 'chunk') {
      c.req.raw.signal.removeEventListener('abort', onAbort);
      await events.return(undefined);
      if (event.type === 'result') return c.json(event.data, event.status as 200);
      if (event.type === 'error') return eventErrorResponse(c, event);
      return errorResponse(c, new OpenAIError(500, 'Unexpected end of answer.', 'server_error'));
    }
    const done = (): void => {
      controller.abort(new Error('response finished'));
      c.req.raw.signal.removeEventListener('abort', onAbort);
    };
    const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
    if (outgoing != null) {
      streamToSocket(c, outgoing, first.value, events, done);
      return RESPONSE_ALREADY_SENT;
    }
    // Served through `app.fetch` alone (no Node socket): a streaming web Response.
    const out = new StreamingBody(onAbort);
    pumpSse(
      first.value,
      events,
      {
        get closed() {
          return out.closed;
        },
        write: (text) => out.write(text),
        end: () => out.close(),
      },
      done,
    );
    return new Response(out.stream, { headers: STREAM_HEADERS });
  }

  async function sealed(c: Context, endpoint: InferenceEndpoint): Promise<Response> {
    let message: ClientToNodeRequest;
    try {
      message = decodeMessage(new Uint8Array(await c.req.arrayBuffer()), ClientToNodeRequest);
    } catch (err) {
      const code = err instanceof ProtocolError ? err.code : 'bad_message';
      const frame: NodeToClientInferenceMessage = {
        type: 'error',
        code,
        message: 'malformed sealed request',
      };
      return c.body(
        encodeFrame(frame) as Uint8Array<ArrayBuffer>,
        SEALED_ERROR_HTTP_STATUS[code] as 400,
        {
          'content-type': SEALED_RESPONSE_TYPE,
        },
      );
    }
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(new Error('client went away'));
    c.req.raw.signal.addEventListener('abort', onAbort, { once: true });
    const frames = serveSealedRequest(message, init, { signal: controller.signal, endpoint });
    const first = await frames.next();
    if (first.done === true || first.value.type === 'error') {
      c.req.raw.signal.removeEventListener('abort', onAbort);
      const frame: NodeToClientInferenceMessage =
        first.done === true
          ? { type: 'error', code: 'internal', message: 'internal error' }
          : first.value;
      const status = frame.type === 'error' ? SEALED_ERROR_HTTP_STATUS[frame.code] : 500;
      return c.body(encodeFrame(frame) as Uint8Array<ArrayBuffer>, status as 400, {
        'content-type': SEALED_RESPONSE_TYPE,
      });
    }
    const out = new StreamingBody(onAbort);
    void (async () => {
      try {
        await out.write(encodeFrame(first.value));
        for await (const frame of frames) {
          if (out.closed) break;
          await out.write(encodeFrame(frame));
        }
      } catch (err) {
        log('sealed stream ended early: %s', (err as Error).name);
      } finally {
        out.close();
        controller.abort(new Error('response finished'));
        c.req.raw.signal.removeEventListener('abort', onAbort);
        await frames.return(undefined);
      }
    })();
    return new Response(out.stream, {
      headers: {
        ...STREAM_HEADERS,
        'content-type': SEALED_RESPONSE_TYPE,
        'cache-control': 'no-store',
      },
    });
  }

  api.post('/chat/completions', limit, generate('chat.completions'));
  api.post('/completions', limit, generate('completions'));

  app.route('/v1', api);
  app.route('/api/v1', api);

  app.notFound((c) =>
    errorResponse(
      c,
      new OpenAIError(404, `Invalid URL (${c.req.method} ${c.req.path})`, 'invalid_request_error', {
        code: 'unknown_url',
      }),
    ),
  );
  app.onError((err, c) => {
    log.error('unhandled error on %s %s: %s', c.req.method, c.req.path, err.name);
    return errorResponse(
      c,
      err instanceof OpenAIError
        ? err
        : new OpenAIError(500, 'The node failed while processing the request.', 'server_error'),
    );
  });
  return app;
}
