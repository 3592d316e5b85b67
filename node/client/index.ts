/**
 * `token.place/client`: talk to a token.place node (or a bootstrap's gateway) over HTTP
 * with end-to-end encryption. The client fetches the node's signed key record, verifies
 * it against the node's PeerId, seals each request with HPKE to that key, and opens the
 * sealed response chunks — so any HTTP proxy or gateway in between sees only ciphertext.
 *
 * Runs anywhere with `fetch` and WebCrypto (Node ≥ 20, browsers, Deno).
 *
 * @example
 * ```ts
 * import { TokenPlaceClient } from 'token.place/client';
 * const client = new TokenPlaceClient({ baseURL: 'http://127.0.0.1:8000/v1', peerId: '12D3KooW…' });
 * for await (const chunk of client.streamChatCompletion({ model: 'demo', messages: [{ role: 'user', content: 'Hi' }] })) {
 *   process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
 * }
 * ```
 */
import {
  MAX_INFERENCE_FRAME_BYTES,
  SEALED_REQUEST_CONTENT_TYPE as SEALED_REQUEST_TYPE,
  SEALED_RESPONSE_CONTENT_TYPE as SEALED_RESPONSE_TYPE,
  NodeToClientInferenceMessage,
  readFrames,
  RemoteError,
  sealInferenceRequest,
  selectKeyRecord,
  SignedEnvelope,
  PeerIdString,
  type InferenceEndpoint,
  type OpenAIErrorBody,
  type ResponseEvent,
  type VerifiedKeyRecord,
} from '../../protocol/index.js';
import { z } from 'zod';

export interface TokenPlaceClientOptions {
  /** The OpenAI base URL of a node or gateway, e.g. `http://127.0.0.1:8000/v1`. */
  baseURL: string;
  /**
   * The node's PeerId. Key records are verified against it, so whoever controls the HTTP
   * path cannot substitute a key. Without it the client trusts the PeerId the node
   * presents on first contact (see `pinnedPeerId`).
   */
  peerId?: string;
  /** Sent as `Authorization: Bearer <apiKey>` when the node requires one. */
  apiKey?: string;
  /** A custom fetch (proxies, tests). @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** An OpenAI-shaped error returned by the node, inside the sealed stream. */
export class TokenPlaceAPIError extends Error {
  static override readonly name = 'TokenPlaceAPIError';
  readonly status: number;
  readonly error: OpenAIErrorBody;
  readonly retryAfterMs: number | undefined;

  constructor(status: number, error: OpenAIErrorBody, retryAfterMs?: number) {
    super(error.message);
    this.name = 'TokenPlaceAPIError';
    this.status = status;
    this.error = error;
    this.retryAfterMs = retryAfterMs;
  }
}

const PublicKeyResponse = z.object({
  peerId: PeerIdString,
  keyRecords: z.array(SignedEnvelope).min(1).max(4),
});

/** The chunk objects a streamed answer yields (OpenAI's shape). */
export interface StreamChunk {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta?: { role?: string; content?: string };
    text?: string;
    finish_reason: string | null;
  }>;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

export class TokenPlaceClient {
  readonly baseURL: string;
  readonly #fetch: typeof fetch;
  readonly #apiKey: string | undefined;
  #peerId: string | undefined;
  #key: VerifiedKeyRecord | undefined;
  /** Node clock minus ours, learned from a `stale_request` answer. */
  #clockOffsetMs = 0;

  constructor(options: TokenPlaceClientOptions) {
    this.baseURL = options.baseURL.replace(/\/+$/, '');
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#apiKey = options.apiKey;
    this.#peerId = options.peerId;
  }

  /** The PeerId key records are verified against (pinned, or learned on first contact). */
  get pinnedPeerId(): string | undefined {
    return this.#peerId;
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.#apiKey != null ? { authorization: `Bearer ${this.#apiKey}`, ...extra } : extra;
  }

  /** Fetches and verifies the node's current key record. */
  async keyRecord(
    options: { signal?: AbortSignal; refresh?: boolean } = {},
  ): Promise<VerifiedKeyRecord> {
    if (this.#key != null && options.refresh !== true && this.#key.notAfter > Date.now() + 60_000)
      return this.#key;
    const res = await this.#fetch(`${this.baseURL}/public-key`, {
      headers: this.#headers(),
      ...(options.signal != null ? { signal: options.signal } : {}),
    });
    if (!res.ok) throw new Error(`GET ${this.baseURL}/public-key answered ${res.status}`);
    const parsed = PublicKeyResponse.safeParse(await res.json());
    if (!parsed.success)
      throw new Error(`GET ${this.baseURL}/public-key returned an invalid key record list`);
    // Trust on first use when no PeerId was pinned; from then on the PeerId is fixed.
    this.#peerId ??= parsed.data.peerId;
    this.#key = await selectKeyRecord(
      parsed.data.keyRecords,
      this.#peerId,
      Date.now() + this.#clockOffsetMs,
    );
    return this.#key;
  }

  /**
   * Sends one sealed request and yields the opened response events. Retries once,
   * transparently, when the node rotated its key or our clock is off.
   */
  async *events(
    endpoint: InferenceEndpoint,
    body: Record<string, unknown>,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<ResponseEvent> {
    for (let attempt = 0; ; attempt++) {
      const key = await this.keyRecord({ ...options, refresh: attempt > 0 });
      const { message, reader } = await sealInferenceRequest(
        key,
        { endpoint, body },
        { now: Date.now() + this.#clockOffsetMs },
      );
      const res = await this.#fetch(
        `${this.baseURL}/${endpoint === 'chat.completions' ? 'chat/completions' : 'completions'}`,
        {
          method: 'POST',
          headers: this.#headers({
            'content-type': SEALED_REQUEST_TYPE,
            accept: SEALED_RESPONSE_TYPE,
          }),
          body: JSON.stringify(message),
          ...(options.signal != null ? { signal: options.signal } : {}),
        },
      );
      if (
        !(res.headers.get('content-type') ?? '').startsWith(SEALED_RESPONSE_TYPE) ||
        res.body == null
      ) {
        const text = await res.text().catch(() => '');
        let error: OpenAIErrorBody | undefined;
        try {
          error = (JSON.parse(text) as { error?: OpenAIErrorBody }).error;
        } catch {
          // not JSON
        }
        throw new TokenPlaceAPIError(
          res.status,
          error ?? { message: `HTTP ${res.status}`, type: 'http_error', param: null, code: null },
        );
      }
      const frames = readFrames(res.body, NodeToClientInferenceMessage, {
        maxFrameBytes: MAX_INFERENCE_FRAME_BYTES,
        ...(options.signal != null ? { signal: options.signal } : {}),
      });
      try {
        for await (const event of reader.events(frames)) yield event;
        return;
      } catch (err) {
        if (attempt === 0 && err instanceof RemoteError && err.code === 'unknown_key') continue;
        if (
          attempt === 0 &&
          err instanceof RemoteError &&
          err.code === 'stale_request' &&
          err.serverTime != null
        ) {
          this.#clockOffsetMs = err.serverTime - Date.now();
          continue;
        }
        throw err;
      }
    }
  }

  async #result(
    endpoint: InferenceEndpoint,
    body: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>> {
    for await (const event of this.events(
      endpoint,
      { ...body, stream: false },
      signal != null ? { signal } : {},
    )) {
      if (event.type === 'result') return event.data;
      if (event.type === 'error')
        throw new TokenPlaceAPIError(event.status, event.error, event.retryAfterMs);
    }
    throw new Error('the node ended the response without a result');
  }

  async *#stream(
    endpoint: InferenceEndpoint,
    body: Record<string, unknown>,
    signal?: AbortSignal,
  ): AsyncGenerator<StreamChunk> {
    for await (const event of this.events(
      endpoint,
      { ...body, stream: true },
      signal != null ? { signal } : {},
    )) {
      if (event.type === 'chunk') yield event.data as unknown as StreamChunk;
      else if (event.type === 'error')
        throw new TokenPlaceAPIError(event.status, event.error, event.retryAfterMs);
      else if (event.type === 'result') yield event.data as unknown as StreamChunk;
    }
  }

  /** `POST chat/completions` (non-streamed), end to end encrypted. */
  createChatCompletion(
    body: Record<string, unknown>,
    options: { signal?: AbortSignal } = {},
  ): Promise<Record<string, unknown>> {
    return this.#result('chat.completions', body, options.signal);
  }

  /** `POST chat/completions` with `stream: true`: yields `chat.completion.chunk` objects. */
  streamChatCompletion(
    body: Record<string, unknown>,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<StreamChunk> {
    return this.#stream('chat.completions', body, options.signal);
  }

  /** `POST completions` (legacy, non-streamed), end to end encrypted. */
  createCompletion(
    body: Record<string, unknown>,
    options: { signal?: AbortSignal } = {},
  ): Promise<Record<string, unknown>> {
    return this.#result('completions', body, options.signal);
  }

  /** `POST completions` with `stream: true`. */
  streamCompletion(
    body: Record<string, unknown>,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<StreamChunk> {
    return this.#stream('completions', body, options.signal);
  }
}

export { RemoteError };
