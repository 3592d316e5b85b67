/**
 * token.place protocol: everything two peers must agree on, and nothing else.
 *
 * Platform-neutral (Uint8Array, WebCrypto, @noble/*): this folder runs unchanged in
 * Node and in the browser. It knows nothing of llama, HTTP or Svelte.
 *
 * - `constants`: protocol ids, limits, timings
 * - `messages`: wire messages (zod schemas) named by direction
 * - `framing`: length-prefixed JSON frames on libp2p streams and HTTP bodies
 * - `hpke`: HPKE (RFC 9180) requests and OHTTP-style chunked responses
 * - `inference`: the sealed request/response exchange
 * - `records`: signed key records and model cards
 * - `replay`: the node's replay/staleness guard
 * - `cid`: DHT keys for models
 * - `mesh`: the client side of the mesh protocols over any libp2p node
 * - `liveness`: telling a silent node from a gone one while a request waits on it
 * - `options`: declarative command-line options for every role
 *
 * @example
 * ```ts
 * import { verifyKeyRecord, sealInferenceRequest } from 'token.place/protocol';
 * const key = await verifyKeyRecord(envelope, remotePeerId);
 * const { message, reader } = await sealInferenceRequest(key, { endpoint: 'chat.completions', body });
 * ```
 */
export * from './bytes.js';
export * from './cid.js';
export * from './constants.js';
export * from './errors.js';
export * from './framing.js';
export * from './hpke.js';
export * from './inference.js';
export * from './liveness.js';
export * from './logging.js';
export * from './mesh.js';
export * from './messages.js';
export * from './openai-error.js';
export * from './options.js';
export * from './records.js';
export * from './replay.js';
export * from './sse.js';
export * from './streaming-body.js';
export { randomBytes, sha256, webCrypto } from './crypto.js';
