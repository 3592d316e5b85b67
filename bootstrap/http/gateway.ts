/**
 * The OpenAI HTTP gateway: lets any OpenAI client use the mesh through this bootstrap.
 *
 * **Plain mode** — `POST /v1/chat/completions`, `POST /v1/completions` (also under
 * `/api/v1`): an ordinary OpenAI JSON request. The gateway picks a provider of the model
 * (least loaded first), dials it directly, verifies its key record against the PeerId
 * Noise authenticated on that connection, seals the request with HPKE and opens the
 * sealed answer, then replies exactly like an OpenAI server (JSON, or SSE ending with
 * `data: [DONE]`). If anything fails before the first event it tries the next provider.
 * **The gateway sees the prompt and the answer in plain mode.** The hop from the gateway
 * to the node is end-to-end encrypted; the hop from the client to the gateway is only
 * as private as the HTTP(S) in front of it.
 *
 * **Encrypted mode** — `/nodes/{peerId}/v1/…`: a base URL per node for clients that seal
 * themselves (`TokenPlaceClient` from `token.place/client`, with `peerId` pinned).
 * `GET public-key` returns the node's own signed key records, unchanged; a
 * `POST chat/completions` or `completions` with `Content-Type:
 * application/vnd.tokenplace.sealed-request` is forwarded unchanged on an inference
 * stream to that node, and every frame the node sends comes back unchanged in an
 * `application/vnd.tokenplace.sealed-response` body. The gateway validates the frames
 * but cannot open them: it sees sizes and timing, never the text.
 *
 * Also: `GET /v1/models` (every model in the directory, with a `tokenplace.providers`
 * count), `GET /v1/models/{id}`, and `GET /v1/nodes` (providers with their raw signed
 * cards, for clients that verify for themselves).
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { logger } from '@libp2p/logger';
import { peerIdFromString } from '@libp2p/peer-id';
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils';
import type { Connection, Stream } from '@libp2p/interface';
import * as varint from 'uint8-varint';
import {
  ClientToNodeRequest,
  concat,
  decodeMessage,
  dialProvider,
  fetchNodeInfo,
  fromUtf8,
  INFERENCE_PROTOCOL,
  MAX_INFERENCE_FRAME_BYTES,
  MAX_REQUEST_PLAINTEXT_BYTES,
  NodeToClientInferenceMessage,
  PeerIdString,
  ProtocolError,
  rankProviders,
  reachInTurn,
  RecentFailures,
  runInferenceBatches,
  SilenceWatch,
  SEALED_REQUEST_CONTENT_TYPE,
  SEALED_RESPONSE_CONTENT_TYPE,
  writeSseBatches,
  encodeFrame,
  type InferenceEndpoint,
  type ResponseEvent,
  type VerifiedNodeInfo,
  SEALED_ERROR_HTTP_STATUS,
  type WireErrorCode,
} from '../../protocol/index.js';
import type { Directory, DirectoryEntry } from '../directory.js';
import type { BootstrapLibp2p } from '../libp2p.js';
import type { BootstrapMetrics } from '../metrics.js';
import { tapBody, type Tap } from '../tap.js';
import { SealAhead, StandbyStreams, StreamingBody } from '../../protocol/index.js';
import {
  errorResponse,
  OpenAIError,
  invalidRequest,
  modelNotFound,
  nodeNotFound,
  tooLarge,
  unreachable,
} from './errors.js';

const log = logger('tokenplace:bootstrap:gateway');

/** Providers a plain-mode request tries before giving up. */
export const MAX_PLAIN_ATTEMPTS = 3;
/** Dialing a node and verifying its key may take this long per attempt. */
export const GATEWAY_DIAL_TIMEOUT_MS = 10_000;
/** A node's verified info is reused on the same connection for this long. */
const INFO_CACHE_MS = 30_000;
/** Room the sealed envelope's JSON adds around a plain-mode body. */
const PLAINTEXT_OVERHEAD = 256;

/** Streaming responses declare chunked encoding up front, so the first byte is not held back. */
const STREAM_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'transfer-encoding': 'chunked',
} as const;

export interface GatewayRequestRecord {
  method: string;
  path: string;
  status: number;
  ms: number;
  mode: 'plain' | 'encrypted' | 'none';
}

export interface GatewayInit {
  libp2p: BootstrapLibp2p;
  directory: Directory;
  metrics: BootstrapMetrics;
  /** Serve plain-mode requests (the gateway sees the text). @default true */
  plain?: boolean;
  tap?: Tap;
  /** Called after each gateway request (ids and timings only). */
  onRequest?(record: GatewayRequestRecord): void;
}

type Mode = GatewayRequestRecord['mode'];

function midStreamError(): OpenAIError {
  return new OpenAIError(
    502,
    'The node serving this request went away before finishing the answer.',
    'server_error',
    { code: 'node_disconnected' },
  );
}

/** Reads one raw frame and validates it; undefined at a clean end of stream. */
async function readFrame(
  lp: LengthPrefixedStream<Stream>,
  signal: AbortSignal,
): Promise<{ bytes: Uint8Array; message: NodeToClientInferenceMessage } | undefined> {
  let frame;
  try {
    frame = await lp.read({ signal });
  } catch (err) {
    if ((err as Error).name === 'UnexpectedEOFError') return undefined;
    throw err;
  }
  const bytes = frame.subarray();
  return { bytes, message: decodeMessage(bytes, NodeToClientInferenceMessage) };
}

function framed(bytes: Uint8Array): Uint8Array {
  return concat(varint.encode(bytes.length), bytes);
}

/** Where the gateway lives; everything else on the HTTP port is the web app and friends. */
export const GATEWAY_PREFIXES = ['/v1', '/api/v1', '/nodes'] as const;

export type GatewayEnv = { Variables: { mode: Mode } };

/** Adds the gateway's routes (under `GATEWAY_PREFIXES`) to `app`. */
export function registerGateway(app: Hono<GatewayEnv>, init: GatewayInit): void {
  const { libp2p, directory, metrics } = init;
  const plainEnabled = init.plain !== false;
  const infoCache = new WeakMap<Connection, { info: VerifiedNodeInfo; at: number }>();
  const streams = new StandbyStreams();
  const seals = new SealAhead();
  /** Plain-mode providers that failed lately: tried after the others for a while. */
  const recentFailures = new RecentFailures();

  for (const prefix of GATEWAY_PREFIXES) {
    app.use(`${prefix}/*`, async (c, next) => {
      const started = performance.now();
      c.set('mode', 'none');
      await next();
      if (init.tap != null && c.res.body != null) {
        c.res = new Response(tapBody(c.res.body, init.tap, 'out'), c.res);
      }
      init.onRequest?.({
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
        mode: c.get('mode'),
      });
    });
    app.use(
      `${prefix}/*`,
      cors({
        origin: '*',
        allowHeaders: [
          'authorization',
          'content-type',
          'accept',
          'openai-organization',
          'openai-project',
          'x-stainless-*',
        ],
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        maxAge: 600,
      }),
    );
  }

  const limit = bodyLimit({
    maxSize: MAX_INFERENCE_FRAME_BYTES,
    onError: (c) => {
      // The rest of the body is never read, so the connection cannot be reused.
      c.header('connection', 'close');
      return errorResponse(c, tooLarge(MAX_INFERENCE_FRAME_BYTES));
    },
  });

  async function readBody(c: Context): Promise<Uint8Array> {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    init.tap?.('in', bytes, 'http');
    return bytes;
  }

  async function verifiedInfo(
    connection: Connection,
    signal: AbortSignal,
  ): Promise<VerifiedNodeInfo> {
    const cached = infoCache.get(connection);
    if (cached != null && Date.now() - cached.at < INFO_CACHE_MS) return cached.info;
    const info = await fetchNodeInfo(connection, { signal });
    infoCache.set(connection, { info, at: Date.now() });
    return info;
  }

  async function connect(entry: DirectoryEntry, signal: AbortSignal): Promise<Connection> {
    return dialProvider(
      libp2p,
      { peerId: entry.peerId, addrs: await directory.addrsOf(entry.peerId) },
      peerIdFromString,
      { signal },
    );
  }

  function modelList(entries: DirectoryEntry[]): Array<Record<string, unknown>> {
    const models = new Map<string, { providers: number; created: number }>();
    for (const entry of entries) {
      const issued = new Map<string, number>();
      for (const { card } of entry.cards) {
        issued.set(card.model.id, Math.min(issued.get(card.model.id) ?? Infinity, card.issuedAt));
      }
      for (const [id, at] of issued) {
        const seen = models.get(id);
        models.set(id, {
          providers: (seen?.providers ?? 0) + 1,
          created: Math.min(seen?.created ?? Infinity, Math.floor(at / 1000)),
        });
      }
    }
    return [...models.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, m]) => ({
        id,
        object: 'model',
        created: m.created,
        owned_by: 'token.place',
        tokenplace: { providers: m.providers },
      }));
  }

  // ------------------------------------------------------------------ plain mode

  function parseJson(bytes: Uint8Array): Record<string, unknown> {
    let body: unknown;
    try {
      body = JSON.parse(fromUtf8(bytes));
    } catch {
      throw invalidRequest(
        'We could not parse the JSON body of your request. The body must be valid JSON (Content-Type: application/json).',
      );
    }
    if (body == null || typeof body !== 'object' || Array.isArray(body)) {
      throw invalidRequest('The request body must be a JSON object.');
    }
    return body as Record<string, unknown>;
  }

  async function plain(
    c: Context<GatewayEnv>,
    endpoint: InferenceEndpoint,
    pinned?: DirectoryEntry,
  ): Promise<Response> {
    if (!plainEnabled) {
      return errorResponse(
        c,
        new OpenAIError(
          403,
          'This gateway serves encrypted mode only: seal requests end to end with token.place/client at /nodes/{peerId}/v1.',
          'permission_error',
          { code: 'plain_mode_disabled' },
        ),
      );
    }
    const bytes = await readBody(c);
    if (bytes.length > MAX_REQUEST_PLAINTEXT_BYTES - PLAINTEXT_OVERHEAD) {
      return errorResponse(c, tooLarge(MAX_REQUEST_PLAINTEXT_BYTES - PLAINTEXT_OVERHEAD));
    }
    const body = parseJson(bytes);
    const model = body.model;
    if (typeof model !== 'string' || model === '') {
      throw invalidRequest('You must provide a model parameter.', { param: 'model' });
    }
    c.set('mode', 'plain');
    metrics.gatewayRequests.inc({ mode: 'plain' });

    const controller = new AbortController();
    const onAbort = (): void => controller.abort(new Error('client went away'));
    c.req.raw.signal.addEventListener('abort', onAbort, { once: true });
    const release = (): void => c.req.raw.signal.removeEventListener('abort', onAbort);
    const signal = controller.signal;

    const candidates =
      pinned != null
        ? [pinned]
        : rankProviders(
            await directory.providersOf(model, { signal }),
            undefined,
            recentFailures.lastFailure,
          );
    if (candidates.length === 0) {
      release();
      return errorResponse(c, modelNotFound(model));
    }

    const failures: string[] = [];
    const failed = (candidate: DirectoryEntry, err: unknown): void => {
      log('plain request: provider %s failed: %s', candidate.peerId, (err as Error).name);
      failures.push(candidate.peerId);
      recentFailures.failed(candidate.peerId);
    };
    const clientGone = (): Response => {
      release();
      return errorResponse(
        c,
        new OpenAIError(499, 'Client closed the request.', 'invalid_request_error'),
      );
    };
    /** A verified connection to `candidate`, if it still serves the model. */
    const reach = async (
      candidate: DirectoryEntry,
    ): Promise<{ connection: Connection; info: VerifiedNodeInfo }> => {
      const setup = AbortSignal.any([signal, AbortSignal.timeout(GATEWAY_DIAL_TIMEOUT_MS)]);
      const connection = await connect(candidate, setup);
      const info = await verifiedInfo(connection, setup);
      if (pinned == null && !info.cards.some((card) => card.model.id === model)) {
        throw new Error('the node no longer serves the model');
      }
      return { connection, info };
    };
    // The best provider first; the next beside it if its dial stalls (a frozen node).
    const reachable = reachInTurn(candidates.slice(0, MAX_PLAIN_ATTEMPTS), reach, {
      signal,
      onFailure: (candidate, err) => {
        if (!signal.aborted) failed(candidate, err);
      },
    });
    try {
      for await (const { candidate, result } of reachable) {
        const { connection, info } = result;
        let events: AsyncGenerator<ResponseEvent[]> | undefined;
        let first: ResponseEvent[];
        const sentAt = Date.now();
        try {
          events = runInferenceBatches(
            connection,
            info.key,
            { endpoint, body },
            { signal, streams, seals },
          );
          const next = await events.next();
          if (next.done === true) throw new Error('the node ended without answering');
          first = next.value;
        } catch (err) {
          await events?.return(undefined).catch(() => {});
          if (signal.aborted) {
            if (recentFailures.abandoned(candidate.peerId, sentAt)) {
              log('plain request: provider %s held it until its client gave up', candidate.peerId);
            }
            return clientGone();
          }
          failed(candidate, err);
          continue;
        }
        return respond(c, first, events, controller, release, candidate.peerId);
      }
    } catch (err) {
      if (signal.aborted) return clientGone();
      throw err;
    }
    release();
    return errorResponse(
      c,
      unreachable(
        `No node could answer: ${failures.length} provider(s) of \`${model}\` failed or were unreachable. Try again shortly.`,
      ),
    );
  }

  function respond(
    c: Context,
    firstBatch: ResponseEvent[],
    batches: AsyncGenerator<ResponseEvent[]>,
    controller: AbortController,
    release: () => void,
    peerId: string,
  ): Response | Promise<Response> {
    const first = firstBatch[0]!;
    if (first.type !== 'chunk') {
      release();
      void batches.return(undefined).catch(() => {});
      if (first.type === 'result') return c.json(first.data, first.status as 200);
      if (first.type === 'error') {
        if (first.retryAfterMs != null) {
          c.header('Retry-After', String(Math.max(1, Math.ceil(first.retryAfterMs / 1000))));
        }
        return c.json({ error: first.error }, first.status as 400);
      }
      return errorResponse(c, new OpenAIError(500, 'Unexpected end of answer.', 'server_error'));
    }
    const out = new StreamingBody(() => controller.abort(new Error('client went away')));
    void (async () => {
      try {
        await writeSseBatches(firstBatch, batches, out);
        recentFailures.succeeded(peerId);
      } catch (err) {
        log('plain stream ended early: %s', (err as Error).name);
        if (!controller.signal.aborted) recentFailures.failed(peerId);
        if (!out.closed)
          await out.write(`data: ${JSON.stringify({ error: midStreamError().toBody() })}\n\n`);
      } finally {
        out.close();
        release();
        controller.abort(new Error('response finished'));
        await batches.return(undefined).catch(() => {});
      }
    })();
    return new Response(out.stream, { headers: STREAM_HEADERS });
  }

  // ------------------------------------------------------------------ encrypted mode

  function sealedError(c: Context, code: WireErrorCode, message: string): Response {
    return c.body(
      encodeFrame({ type: 'error', code, message }) as Uint8Array<ArrayBuffer>,
      SEALED_ERROR_HTTP_STATUS[code] as 400,
      { 'content-type': SEALED_RESPONSE_CONTENT_TYPE },
    );
  }

  async function sealed(c: Context<GatewayEnv>, entry: DirectoryEntry): Promise<Response> {
    const bytes = await readBody(c);
    try {
      decodeMessage(bytes, ClientToNodeRequest);
    } catch (err) {
      return sealedError(
        c,
        err instanceof ProtocolError ? err.code : 'bad_message',
        'malformed sealed request',
      );
    }
    c.set('mode', 'encrypted');
    metrics.gatewayRequests.inc({ mode: 'encrypted' });

    const controller = new AbortController();
    const onAbort = (): void => controller.abort(new Error('client went away'));
    c.req.raw.signal.addEventListener('abort', onAbort, { once: true });
    const release = (): void => c.req.raw.signal.removeEventListener('abort', onAbort);
    const signal = controller.signal;

    let connection: Connection;
    let stream: Stream;
    try {
      const setup = AbortSignal.any([signal, AbortSignal.timeout(GATEWAY_DIAL_TIMEOUT_MS)]);
      connection = await connect(entry, setup);
      stream = await connection.newStream(INFERENCE_PROTOCOL, { signal: setup });
    } catch (err) {
      release();
      log('encrypted request: cannot reach %s: %s', entry.peerId, (err as Error).name);
      return errorResponse(c, unreachable(`Cannot reach node ${entry.peerId} right now.`));
    }
    // A node that freezes or drops off the network mid-answer is noticed in seconds: the
    // stream is reset and the client's reader reports the answer cut short.
    const watch = new SilenceWatch(connection, (err) => {
      stream.abort(err);
      connection.abort(err);
    });
    // Aborting (the client went away) resets the stream: the node stops generating.
    const abortStream = (): void => stream.abort(new Error('client went away'));
    signal.addEventListener('abort', abortStream, { once: true });
    const lp = lpStream(stream, { maxDataLength: MAX_INFERENCE_FRAME_BYTES });
    let first: Awaited<ReturnType<typeof readFrame>>;
    try {
      // The client's message, byte for byte: the gateway adds only the length prefix.
      await lp.write(bytes, { signal });
      await stream.close({ signal });
      first = await readFrame(lp, signal);
      if (first == null) throw new Error('the node closed the stream without answering');
      watch.progress();
    } catch (err) {
      watch.stop();
      signal.removeEventListener('abort', abortStream);
      release();
      stream.abort(err as Error);
      log('encrypted request to %s failed: %s', entry.peerId, (err as Error).name);
      return errorResponse(c, unreachable(`Node ${entry.peerId} did not answer.`));
    }
    if (first.message.type === 'error') {
      watch.stop();
      signal.removeEventListener('abort', abortStream);
      release();
      return c.body(
        framed(first.bytes) as Uint8Array<ArrayBuffer>,
        SEALED_ERROR_HTTP_STATUS[first.message.code] as 400,
        {
          'content-type': SEALED_RESPONSE_CONTENT_TYPE,
        },
      );
    }
    const out = new StreamingBody(() => controller.abort(new Error('client went away')));
    const firstFrame = first;
    void (async () => {
      let finished = false;
      try {
        let frame: typeof firstFrame | undefined = firstFrame;
        while (frame != null && !out.closed) {
          await out.write(framed(frame.bytes));
          const message = frame.message;
          if (message.type === 'error' || (message.type === 'chunk' && message.final)) {
            finished = true;
            break;
          }
          frame = await readFrame(lp, signal);
          watch.progress();
        }
      } catch (err) {
        // Cut off: the client's reader reports the truncation; the gateway cannot seal an error.
        log('encrypted stream from %s ended early: %s', entry.peerId, (err as Error).name);
      } finally {
        watch.stop();
        out.close();
        signal.removeEventListener('abort', abortStream);
        release();
        if (!finished) stream.abort(new Error('response abandoned'));
      }
    })();
    return new Response(out.stream, {
      headers: {
        ...STREAM_HEADERS,
        'content-type': SEALED_RESPONSE_CONTENT_TYPE,
        'cache-control': 'no-store',
      },
    });
  }

  // ------------------------------------------------------------------ routes

  const api = new Hono<GatewayEnv>();
  api.get('/models', (c) => c.json({ object: 'list', data: modelList(directory.entries()) }));
  api.get('/models/:id{.+}', (c) => {
    const id = c.req.param('id');
    const model = modelList(directory.entries()).find((m) => m.id === id);
    return model == null ? errorResponse(c, modelNotFound(id)) : c.json(model);
  });
  api.get('/nodes', async (c) =>
    c.json({
      object: 'list',
      data: await Promise.all(
        rankProviders(directory.entries()).map(async (e) => ({
          peerId: e.peerId,
          addrs: (await directory.addrsOf(e.peerId)).map((a) => a.toString()),
          cards: e.cards.map((card) => card.envelope),
          load: e.load,
          source: e.source,
        })),
      ),
    }),
  );
  api.post('/chat/completions', limit, (c) => plain(c, 'chat.completions'));
  api.post('/completions', limit, (c) => plain(c, 'completions'));

  const entryOf = (c: Context): DirectoryEntry => {
    const peerId = c.req.param('peerId') ?? '';
    if (!PeerIdString.safeParse(peerId).success) {
      throw invalidRequest(`'${peerId.slice(0, 64)}' is not a PeerId.`);
    }
    const entry = directory.get(peerId);
    if (entry == null) throw nodeNotFound(peerId);
    return entry;
  };
  const node = new Hono<GatewayEnv>();
  node.get('/public-key', (c) => {
    const entry = entryOf(c);
    return c.json({ peerId: entry.peerId, keyRecords: entry.keyRecords });
  });
  node.get('/models', (c) => c.json({ object: 'list', data: modelList([entryOf(c)]) }));
  const generate = (endpoint: InferenceEndpoint) => (c: Context<GatewayEnv>) =>
    (c.req.header('content-type') ?? '').startsWith(SEALED_REQUEST_CONTENT_TYPE)
      ? sealed(c, entryOf(c))
      : plain(c, endpoint, entryOf(c));
  node.post('/chat/completions', limit, generate('chat.completions'));
  node.post('/completions', limit, generate('completions'));

  app.route('/v1', api);
  app.route('/api/v1', api);
  app.route('/nodes/:peerId/v1', node);
  app.route('/nodes/:peerId/api/v1', node);

  // Anything else under the gateway's prefixes is an OpenAI-style 404, not the web app.
  for (const prefix of GATEWAY_PREFIXES) {
    app.all(`${prefix}/*`, (c) => errorResponse(c, unknownUrl(c)));
    app.all(prefix, (c) => errorResponse(c, unknownUrl(c)));
  }
}

export function unknownUrl(c: Context): OpenAIError {
  return new OpenAIError(
    404,
    `Invalid URL (${c.req.method} ${c.req.path})`,
    'invalid_request_error',
    {
      code: 'unknown_url',
    },
  );
}

/** The one error handler: OpenAI's shape for every failure. */
export function gatewayErrorHandler(err: Error, c: Context): Response {
  if (err instanceof OpenAIError) return errorResponse(c, err);
  log.error('unhandled error on %s %s: %s', c.req.method, c.req.path, err.name);
  return errorResponse(
    c,
    new OpenAIError(500, 'The gateway failed while processing the request.', 'server_error', {
      code: 'internal_error',
    }),
  );
}
