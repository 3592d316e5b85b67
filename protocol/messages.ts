/**
 * Wire messages of token.place, named by direction (`ClientToNode…`, `NodeToClient…`),
 * as tagged unions on `type`, with zod schemas that every receiver applies before it
 * trusts a byte. Binary fields are unpadded base64url strings; frames are UTF-8 JSON.
 *
 * Signed payloads (key records, model cards) travel as `SignedEnvelope`s: the exact
 * payload bytes plus a signature over them, so no canonical JSON is needed.
 */
import { z } from 'zod/mini';
import {
  MAX_CHUNK_PLAINTEXT_BYTES,
  MAX_EVENTS_PER_CHUNK,
  MAX_REQUEST_PLAINTEXT_BYTES,
} from './constants.js';
import { WIRE_ERROR_CODES } from './errors.js';

// ---------------------------------------------------------------- building blocks

const B64URL = /^[A-Za-z0-9_-]*$/;
/** base64url text of at most `maxBytes` decoded bytes. */
export const b64u = (maxBytes: number) =>
  z
    .string()
    .check(z.maxLength(Math.ceil((maxBytes * 4) / 3)), z.regex(B64URL, 'expected base64url'));

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.int().check(z.minimum(min), z.maximum(max));

/** A string of at most `max` characters. */
const text = (max: number) => z.string().check(z.maxLength(max));

/** A libp2p PeerId in its string form (base58btc multihash or CIDv1). */
export const PeerIdString = z
  .string()
  .check(
    z.minLength(16),
    z.maxLength(128),
    z.regex(/^[1-9A-HJ-NP-Za-km-z]+$|^b[a-z2-7]+$/, 'expected a PeerId'),
  );

/** A model id: what clients put in `model` and what the DHT key is derived from. */
export const ModelId = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(128),
    z.regex(/^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/, 'model ids use letters, digits and ._:/@+-'),
  );

export const KeyId = z.string().check(z.regex(/^[0-9a-f]{16}$/, 'expected a 16-hex-digit key id'));

export const SignedEnvelope = z.strictObject({
  /** base64url of the payload's JSON bytes, exactly as signed. */
  payload: b64u(16 * 1024),
  /** base64url of the signature over `domain || 0x00 || payload bytes`. */
  sig: b64u(1024),
});
export type SignedEnvelope = z.infer<typeof SignedEnvelope>;

// ---------------------------------------------------------------- signed payloads

export const HpkeSuiteSchema = z.strictObject({
  kem: z.literal(0x0020),
  kdf: z.literal(0x0001),
  aead: z.literal(0x0001),
});

/** The node's HPKE public key, signed by its libp2p identity key. */
export const KeyRecord = z.strictObject({
  type: z.literal('key-record'),
  v: z.literal(1),
  peerId: PeerIdString,
  keyId: KeyId,
  suite: HpkeSuiteSchema,
  publicKey: b64u(32),
  notBefore: int(0),
  notAfter: int(0),
});
export type KeyRecord = z.infer<typeof KeyRecord>;

export const Load = z.strictObject({
  /** Requests generating now. */
  active: int(0, 1_000_000),
  /** Requests waiting for a free sequence. */
  queued: int(0, 1_000_000),
  /** Sequences the node runs at once. */
  maxConcurrency: int(1, 4096),
});
export type Load = z.infer<typeof Load>;

export const Hardware = z.strictObject({
  platform: text(32),
  arch: text(32),
  cpus: int(0, 4096),
  cpuModel: text(128),
  memoryBytes: int(0),
  /** llama.cpp backend: `cpu`, `cuda`, `metal` or `vulkan`. */
  backend: text(32),
  gpu: z.nullable(text(128)),
});
export type Hardware = z.infer<typeof Hardware>;

export const ModelInfo = z.strictObject({
  id: ModelId,
  family: text(64),
  /** Parameter count (e.g. 3_210_000_000), 0 when unknown. */
  parameters: int(0),
  /** GGUF file type as llama.cpp names it (`Q4_K_M`, `F32`, …). */
  quantization: text(32),
  contextLength: int(0),
  /** SHA-256 of the GGUF file, hex. */
  ggufSha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
});
export type ModelInfo = z.infer<typeof ModelInfo>;

/** What a node serves, signed by the node, so a directory can relay but not forge it. */
export const ModelCard = z.strictObject({
  type: z.literal('model-card'),
  v: z.literal(1),
  peerId: PeerIdString,
  model: ModelInfo,
  load: Load,
  hardware: Hardware,
  issuedAt: int(0),
  expiresAt: int(0),
});
export type ModelCard = z.infer<typeof ModelCard>;

// ---------------------------------------------------------------- /tokenplace/inference/1.0.0

/** The sealed request: `enc` and `ct` of one HPKE base-mode seal to key `keyId`. */
export const ClientToNodeRequest = z.strictObject({
  type: z.literal('request'),
  keyId: KeyId,
  enc: b64u(32),
  ct: b64u(MAX_REQUEST_PLAINTEXT_BYTES + 16),
});
export type ClientToNodeRequest = z.infer<typeof ClientToNodeRequest>;

/** First frame of a good response: the response nonce (RFC 9458 §4.4). */
export const NodeToClientResponseStart = z.strictObject({
  type: z.literal('response-start'),
  nonce: b64u(16),
});

/** One sealed response chunk; `final` is authenticated through the chunk's AAD. */
export const NodeToClientChunk = z.strictObject({
  type: z.literal('chunk'),
  final: z.boolean(),
  ct: b64u(MAX_CHUNK_PLAINTEXT_BYTES + 16),
});

/**
 * A plaintext error, only for failures before the request could be opened (the node
 * knows nothing about the request yet). Errors about the request itself are sealed.
 */
export const NodeToClientError = z.strictObject({
  type: z.literal('error'),
  code: z.enum(WIRE_ERROR_CODES),
  message: text(512),
  /** For `overloaded`: when to try again. */
  retryAfterMs: z.optional(int(0, 3_600_000)),
  /** For `stale_request`: the node's clock, so the client can correct and retry. */
  serverTime: z.optional(int(0)),
});
export type NodeToClientError = z.infer<typeof NodeToClientError>;

export const NodeToClientInferenceMessage = z.discriminatedUnion('type', [
  NodeToClientResponseStart,
  NodeToClientChunk,
  NodeToClientError,
]);
export type NodeToClientInferenceMessage = z.infer<typeof NodeToClientInferenceMessage>;

// ---------------------------------------------------------------- inside the ciphertext

export const INFERENCE_ENDPOINTS = ['chat.completions', 'completions'] as const;
export const InferenceEndpoint = z.enum(INFERENCE_ENDPOINTS);
export type InferenceEndpoint = z.infer<typeof InferenceEndpoint>;

/** The request plaintext: the OpenAI body plus a random id and a timestamp. */
export const SealedRequestPlaintext = z.strictObject({
  v: z.literal(1),
  /** 16 random bytes, base64url: the replay-detection id. */
  id: z.string().check(z.regex(/^[A-Za-z0-9_-]{22}$/)),
  /** Client clock, ms since the epoch. */
  ts: int(0),
  endpoint: InferenceEndpoint,
  /** The OpenAI request body, validated by the node's OpenAI layer. */
  body: z.record(z.string(), z.unknown()),
});
export type SealedRequestPlaintext = z.infer<typeof SealedRequestPlaintext>;

export const OpenAIErrorBody = z.strictObject({
  message: z.string(),
  type: z.string(),
  param: z.nullable(z.string()),
  code: z.nullable(z.string()),
});
export type OpenAIErrorBody = z.infer<typeof OpenAIErrorBody>;

/**
 * One response event, the plaintext of one sealed chunk. A streamed answer is
 * `chunk`… then `done`; a non-streamed one is a single `result`; `error` ends either.
 */
/**
 * An OpenAI response object, passed on as it is: a JSON object (not an array or a
 * scalar). The same check as `z.record(z.string(), z.unknown())` for parsed JSON, whose
 * keys are always strings, without copying every key of every token's chunk.
 */
const OpenAIObject = z.custom<Record<string, unknown>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  { message: 'expected a JSON object' },
);

export const ResponseEvent = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('chunk'), data: OpenAIObject }),
  z.strictObject({
    type: z.literal('result'),
    status: int(100, 599),
    data: OpenAIObject,
  }),
  z.strictObject({
    type: z.literal('error'),
    status: int(100, 599),
    error: OpenAIErrorBody,
    /** With status 429: when to try again. */
    retryAfterMs: z.optional(int(0, 3_600_000)),
  }),
  z.strictObject({ type: z.literal('done') }),
]);
export type ResponseEvent = z.infer<typeof ResponseEvent>;

/**
 * The plaintext of one sealed chunk: the events that were ready together, in order
 * (a fast model produces several tokens between two writes). Only the last may be
 * terminal (`done`, `result`, `error`), and it is iff the chunk is final.
 */
export const ResponseEvents = z
  .array(ResponseEvent)
  .check(z.minLength(1), z.maxLength(MAX_EVENTS_PER_CHUNK));
export type ResponseEvents = z.infer<typeof ResponseEvents>;

// ---------------------------------------------------------------- /tokenplace/info/1.0.0

export const ClientToNodeInfoRequest = z.strictObject({ type: z.literal('info-request') });
export type ClientToNodeInfoRequest = z.infer<typeof ClientToNodeInfoRequest>;

export const NodeToClientInfo = z.strictObject({
  type: z.literal('info'),
  peerId: PeerIdString,
  /** Current key first; a rotated-out key may follow during the overlap. */
  keyRecords: z.array(SignedEnvelope).check(z.minLength(1), z.maxLength(4)),
  modelCards: z.array(SignedEnvelope).check(z.maxLength(16)),
  /** Live, unsigned load (the signed card carries a snapshot). */
  load: Load,
});
export type NodeToClientInfo = z.infer<typeof NodeToClientInfo>;

// ---------------------------------------------------------------- /tokenplace/directory/1.0.0

/** Most providers a directory returns for one lookup. */
export const MAX_DIRECTORY_PROVIDERS = 64;

export const ClientToDirectoryLookup = z.strictObject({
  type: z.literal('lookup'),
  /** Only providers of this model; omitted: every inference node the directory knows. */
  model: z.optional(ModelId),
  /** At most this many providers. @default MAX_DIRECTORY_PROVIDERS */
  limit: z.optional(int(1, MAX_DIRECTORY_PROVIDERS)),
});
export type ClientToDirectoryLookup = z.infer<typeof ClientToDirectoryLookup>;

export const DirectoryProvider = z.strictObject({
  peerId: PeerIdString,
  /** Where to dial it (multiaddr strings; relay circuit and WebRTC addresses included). */
  addrs: z.array(z.string().check(z.minLength(1), z.maxLength(512))).check(z.maxLength(16)),
  /** The node's own signed model cards, relayed unchanged: a directory cannot forge them. */
  cards: z.array(SignedEnvelope).check(z.maxLength(16)),
  /**
   * The node's signed key records, relayed unchanged, so a client can seal its first
   * request without asking the node first. A client checks them against the PeerId its
   * connection to the node authenticated, exactly like the node's own answer.
   */
  keyRecords: z.optional(z.array(SignedEnvelope).check(z.maxLength(4))),
});
export type DirectoryProvider = z.infer<typeof DirectoryProvider>;

/** The providers of one directory answer. */
export const DirectoryProviders = z
  .array(DirectoryProvider)
  .check(z.maxLength(MAX_DIRECTORY_PROVIDERS));

export const DirectoryToClientProviders = z.strictObject({
  type: z.literal('providers'),
  providers: DirectoryProviders,
});
export type DirectoryToClientProviders = z.infer<typeof DirectoryToClientProviders>;

/** `GET /bootstrap.json` on a bootstrap's HTTP port: how a browser reaches its libp2p side. */
export const BootstrapInfo = z.strictObject({
  peerId: PeerIdString,
  /** Multiaddrs a browser can dial (WebSockets), with `/p2p/<peerId>`. */
  multiaddrs: z
    .array(z.string().check(z.minLength(1), z.maxLength(512)))
    .check(z.minLength(1), z.maxLength(16)),
  /**
   * Set by a bootstrap run with `--allow-private-addresses` (a loopback or LAN mesh): the
   * web app may then dial `ws://` and private addresses and skip STUN. Absent or false:
   * the browser keeps libp2p's defaults (`wss://` and public addresses only).
   */
  allowPrivateAddresses: z.optional(z.boolean()),
  /**
   * The directory as the page was served (what a lookup for every model answers), so a
   * browser lists the models and dials a node while it connects to the relay. Signed by
   * the nodes, so the bootstrap can leave providers out but cannot forge them.
   */
  providers: z.optional(DirectoryProviders),
});
export type BootstrapInfo = z.infer<typeof BootstrapInfo>;
