/**
 * Protocol ids, limits and timing constants of the token.place wire protocol.
 * Every number a peer enforces lives here, so docs/PROTOCOL.md and the code agree.
 */

/** One sealed request in, sealed response chunks out; closing the stream aborts. */
export const INFERENCE_PROTOCOL = '/tokenplace/inference/1.0.0';
/** The node's signed HPKE key records, signed model cards and live load. */
export const INFO_PROTOCOL = '/tokenplace/info/1.0.0';
/** The private Kademlia DHT (never the public IPFS Amino DHT). */
export const DHT_PROTOCOL = '/tokenplace/kad/1.0.0';
/** Bootstrap directory for light peers: who serves model X, with their signed cards. */
export const DIRECTORY_PROTOCOL = '/tokenplace/directory/1.0.0';

/** Largest frame on the info and directory protocols (bytes). */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Largest frame on the inference protocol, either direction (bytes). */
export const MAX_INFERENCE_FRAME_BYTES = 1024 * 1024;
/** Largest plaintext inside a sealed request (the AEAD adds 16 bytes, base64url 4/3). */
export const MAX_REQUEST_PLAINTEXT_BYTES = 512 * 1024;
/** Largest plaintext in one sealed response chunk (a whole non-streamed answer fits). */
export const MAX_CHUNK_PLAINTEXT_BYTES = 512 * 1024;
/** Most events one sealed chunk may carry (a node batches events that are ready together). */
export const MAX_EVENTS_PER_CHUNK = 1024;
/** Most chunks one response may carry before the reader gives up. */
export const MAX_CHUNKS_PER_RESPONSE = 1 << 20;
/** How far a request timestamp may differ from the node's clock. */
export const MAX_CLOCK_SKEW_MS = 2 * 60 * 1000;
/** Request ids remembered for replay detection (oldest evicted first, see ReplayGuard). */
export const REPLAY_CACHE_SIZE = 65_536;

/** How often a node rotates its HPKE key. */
export const KEY_ROTATION_MS = 24 * 60 * 60 * 1000;
/** How long a rotated-out key still opens requests (in-flight and cached records). */
export const KEY_OVERLAP_MS = 60 * 60 * 1000;
/** How long a signed model card is valid; nodes re-sign well before this. */
export const MODEL_CARD_TTL_MS = 10 * 60 * 1000;

/** Bytes in a request id (random, inside the ciphertext). */
export const REQUEST_ID_BYTES = 16;
/** Bytes in the response nonce sent before the first chunk (max(Nk, Nn) = 16, RFC 9458 §4.4). */
export const RESPONSE_NONCE_BYTES = 16;

/** Key string used for a model's DHT CID: `tokenplace/model/<id>`. */
export const MODEL_CID_PREFIX = 'tokenplace/model/';
/** Key string provided by every inference node, whatever it serves. */
export const INFERENCE_NODE_CID_KEY = 'tokenplace/inference-node';

/** Content type of a sealed request sent over HTTP (encrypted mode). */
export const SEALED_REQUEST_CONTENT_TYPE = 'application/vnd.tokenplace.sealed-request';
/** Content type of the framed, sealed response to it. */
export const SEALED_RESPONSE_CONTENT_TYPE = 'application/vnd.tokenplace.sealed-response';

/**
 * libp2p's connection monitor as every role runs it: a ping on each connection every
 * 3 s, 2 s to answer (more after slow answers, at most 10 s). A peer that freezes, loses
 * power or drops off the network closes nothing; the unanswered ping closes its
 * connection within ~5 s (libp2p's defaults, 10 s and at least 5 s, took 8–14 s here),
 * so a bootstrap's directory drops such a node, a node stops generating for such a
 * client, and a page or node notices such a relay.
 */
export const CONNECTION_MONITOR = {
  pingInterval: 3_000,
  pingTimeout: { minTimeout: 2_000, maxTimeout: 10_000 },
} as const;
