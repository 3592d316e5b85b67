/**
 * Test helpers for the bootstrap: a real bootstrap in-process on loopback, a real
 * libp2p **test peer** that plays an inference node (it serves the info and inference
 * protocols with cards and key records signed by its own identity and answers with
 * scripted events — no model), and a light libp2p client like a browser's.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { identify } from '@libp2p/identify';
import type { PrivateKey } from '@libp2p/interface';
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht';
import { noise } from '@libp2p/noise';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import { lpStream } from '@libp2p/utils';
import { webRTC } from '@libp2p/webrtc';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import { multiaddr } from '@multiformats/multiaddr';
import { WebRTC } from '@multiformats/multiaddr-matcher';
import { createLibp2p, type Libp2p } from 'libp2p';
import {
  ClientToNodeRequest,
  DHT_PROTOCOL,
  errorFrame,
  generateHpkeKeyPair,
  HPKE_SUITE,
  INFERENCE_PROTOCOL,
  INFO_PROTOCOL,
  KEY_ROTATION_MS,
  MAX_FRAME_BYTES,
  MAX_INFERENCE_FRAME_BYTES,
  MODEL_CARD_TTL_MS,
  modelCid,
  openInferenceRequest,
  readMessage,
  ReplayGuard,
  signKeyRecord,
  signModelCard,
  toBase64Url,
  writeMessage,
  type Load,
  type ModelCard,
  type ResponseEvent,
  type SealedRequestPlaintext,
  type SignedEnvelope,
} from '../../protocol/index.js';
import { loadBootstrapConfig, type BootstrapConfig } from '../../bootstrap/config.js';
import {
  startBootstrap,
  type RunningBootstrap,
  type StartBootstrapOptions,
} from '../../bootstrap/bootstrap.js';

// ---------------------------------------------------------------- bootstrap

export interface TestBootstrap extends RunningBootstrap {
  /** The first `/ip4/127.0.0.1/.../ws/p2p/<id>` address. */
  addr: string;
  /** Stops the bootstrap and removes its data dir (unless it was given). */
  dispose(): Promise<void>;
}

/** A bootstrap on loopback: libp2p and HTTP on free ports, private addresses allowed. */
export async function startTestBootstrap(
  options: {
    dataDir?: string;
    webRoot?: string;
    args?: string[];
    config?: Partial<BootstrapConfig>;
  } & StartBootstrapOptions = {},
): Promise<TestBootstrap> {
  const { dataDir: given, webRoot, args = [], config: overrides, ...start } = options;
  const dataDir = given ?? (await mkdtemp(join(tmpdir(), 'tokenplace-bootstrap-')));
  const config = loadBootstrapConfig(
    [
      '--listen',
      '/ip4/127.0.0.1/tcp/0/ws',
      '--http',
      '127.0.0.1:0',
      '--allow-private-addresses',
      '--data-dir',
      dataDir,
      '--web-root',
      webRoot ?? join(dataDir, 'no-web-app'),
      ...args,
    ],
    {},
  );
  let bootstrap: RunningBootstrap;
  try {
    bootstrap = await startBootstrap({ ...config, ...overrides }, start);
  } catch (err) {
    if (given == null) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const addr = bootstrap.multiaddrs.find((a) => a.startsWith('/ip4/127.0.0.1/'));
  if (addr == null) throw new Error(`no loopback address in ${bootstrap.multiaddrs.join(', ')}`);
  return Object.assign(bootstrap, {
    addr,
    dispose: async () => {
      await bootstrap.stop();
      if (given == null) await rm(dataDir, { recursive: true, force: true });
    },
  });
}

/** Polls `fn` until it returns a truthy value. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  what = 'condition',
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last != null ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------- test peer

export type TestPeerBehaviour =
  /** Answers every request (streamed or not) with the scripted answer. */
  | 'answer'
  /** Resets the inference stream on receipt, before any frame: a node that crashed. */
  | 'reset-before-answer'
  /** Streams two chunks, then resets the stream: a node that dies mid-answer. */
  | 'die-mid-stream'
  /** Streams the answer slowly (200 ms a chunk) until the client goes away. */
  | 'slow'
  /**
   * Opens the request and starts the response, then sends nothing until the client goes
   * away, answering pings all along: a wedged engine, or a node holding requests on purpose.
   */
  | 'silent';

export interface TestPeerOptions {
  /** The bootstrap's multiaddr (with `/p2p/<id>`) to dial. */
  bootstrap: string;
  /** Models to sign cards for. @default ['demo'] */
  models?: string[];
  /** A model whose card is signed with a different key: it must never be served. */
  forgedModel?: string;
  /** The load in the cards and info. @default {active:0, queued:0, maxConcurrency:2} */
  load?: Partial<Load>;
  behaviour?: TestPeerBehaviour;
  /** @default TEST_PEER_ANSWER */
  answer?: string;
  /** Also listen on a loopback WebSocket address (for peers found through the DHT). */
  listenWs?: boolean;
  /** Reserve a slot on the bootstrap's relay and listen for WebRTC. @default true */
  relay?: boolean;
}

export const TEST_PEER_ANSWER = 'Hello from the test peer, not a model.';

export interface TestPeer {
  libp2p: Libp2p;
  peerId: string;
  privateKey: PrivateKey;
  /** Every request the peer opened (it is the node: it may read them). */
  requests: SealedRequestPlaintext[];
  /** Inference streams opened to it. */
  inferenceStreams: number;
  /** Inference streams that ended because the client reset them. */
  abortedStreams: number;
  /** Requests it read and then reset the stream on ('reset-before-answer'). */
  resetRequests: number;
  /** The live load it reports in its info (change it to simulate load). */
  load: Load;
  /** When true, it resets info requests: a node that stopped answering. */
  failInfo: boolean;
  /** Announces its models on the DHT (through the bootstrap). */
  provide(): Promise<void>;
  stop(): Promise<void>;
}

const HARDWARE = {
  platform: 'linux',
  arch: 'x64',
  cpus: 2,
  cpuModel: 'test peer',
  memoryBytes: 1 << 30,
  backend: 'cpu',
  gpu: null,
} as const;

function card(peerId: string, model: string, load: Load): ModelCard {
  const now = Date.now();
  return {
    type: 'model-card',
    v: 1,
    peerId,
    model: {
      id: model,
      family: 'test',
      parameters: 0,
      quantization: 'F32',
      contextLength: 2048,
      ggufSha256: '0'.repeat(64),
    },
    load,
    hardware: HARDWARE,
    issuedAt: now,
    expiresAt: now + MODEL_CARD_TTL_MS,
  };
}

/** The events a real node would send for `request`, with `answer` as the text. */
function scriptedEvents(
  request: SealedRequestPlaintext,
  answer: string,
  models: string[],
): ResponseEvent[] {
  const body = request.body;
  const model = typeof body.model === 'string' ? body.model : '';
  const created = Math.floor(Date.now() / 1000);
  if (!models.includes(model)) {
    return [
      {
        type: 'error',
        status: 404,
        error: {
          message: `The model \`${model}\` does not exist.`,
          type: 'invalid_request_error',
          param: 'model',
          code: 'model_not_found',
        },
      },
    ];
  }
  const words = answer.split(/(?<= )/);
  const chat = request.endpoint === 'chat.completions';
  if (body.stream === true) {
    const chunk = (piece: string, finish: string | null, first = false): ResponseEvent => ({
      type: 'chunk',
      data: chat
        ? {
            id: 'chatcmpl-testpeer',
            object: 'chat.completion.chunk',
            created,
            model,
            choices: [
              {
                index: 0,
                delta:
                  finish != null ? {} : { ...(first ? { role: 'assistant' } : {}), content: piece },
                finish_reason: finish,
              },
            ],
          }
        : {
            id: 'cmpl-testpeer',
            object: 'text_completion',
            created,
            model,
            choices: [{ index: 0, text: piece, finish_reason: finish, logprobs: null }],
          },
    });
    return [...words.map((w, i) => chunk(w, null, i === 0)), chunk('', 'stop'), { type: 'done' }];
  }
  const usage = {
    prompt_tokens: 1,
    completion_tokens: words.length,
    total_tokens: words.length + 1,
  };
  return [
    {
      type: 'result',
      status: 200,
      data: chat
        ? {
            id: 'chatcmpl-testpeer',
            object: 'chat.completion',
            created,
            model,
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content: answer },
                finish_reason: 'stop',
                logprobs: null,
              },
            ],
            usage,
          }
        : {
            id: 'cmpl-testpeer',
            object: 'text_completion',
            created,
            model,
            choices: [{ index: 0, text: answer, finish_reason: 'stop', logprobs: null }],
            usage,
          },
    },
  ];
}

/** A real libp2p peer that plays an inference node (see the file header). */
export async function startTestPeer(options: TestPeerOptions): Promise<TestPeer> {
  const models = options.models ?? ['demo'];
  const load: Load = { active: 0, queued: 0, maxConcurrency: 2, ...options.load };
  const behaviour = options.behaviour ?? 'answer';
  const answer = options.answer ?? TEST_PEER_ANSWER;
  const privateKey = await generateKeyPair('Ed25519');
  const peerId = peerIdFromPrivateKey(privateKey).toString();

  const hpke = await generateHpkeKeyPair();
  const now = Date.now();
  const keyRecord: SignedEnvelope = await signKeyRecord(privateKey, {
    type: 'key-record',
    v: 1,
    peerId,
    keyId: hpke.keyId,
    suite: HPKE_SUITE,
    publicKey: toBase64Url(hpke.publicKey),
    notBefore: now - 1_000,
    notAfter: now + KEY_ROTATION_MS,
  });
  const cards: SignedEnvelope[] = [];
  for (const model of models)
    cards.push(await signModelCard(privateKey, card(peerId, model, load)));
  if (options.forgedModel != null) {
    // Names this peer, but signed by someone else's key: a forgery.
    cards.push(
      await signModelCard(
        await generateKeyPair('Ed25519'),
        card(peerId, options.forgedModel, load),
      ),
    );
  }
  const replay = new ReplayGuard();

  const libp2p = await createLibp2p({
    privateKey,
    addresses: {
      listen: [
        ...(options.relay !== false ? ['/p2p-circuit', '/webrtc'] : []),
        ...(options.listenWs === true ? ['/ip4/127.0.0.1/tcp/0/ws'] : []),
      ],
    },
    transports: [
      webSockets(),
      // Loopback only: no public STUN servers, ICE bound to 127.0.0.1.
      webRTC({
        rtcConfiguration: { iceServers: [], bindAddress: '127.0.0.1' } as RTCConfiguration,
      }),
      circuitRelayTransport(),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: true,
        peerInfoMapper: passthroughMapper,
        initialQuerySelfInterval: 0,
      }),
    },
  });

  const peer: TestPeer = {
    libp2p,
    peerId,
    privateKey,
    requests: [],
    inferenceStreams: 0,
    abortedStreams: 0,
    resetRequests: 0,
    load: { ...load },
    failInfo: false,
    async provide() {
      for (const model of models) {
        await libp2p.contentRouting.provide(modelCid(model), {
          signal: AbortSignal.timeout(10_000),
        });
      }
    },
    async stop() {
      await libp2p.stop();
    },
  };

  await libp2p.handle(
    INFO_PROTOCOL,
    async (stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
      try {
        await lp.read();
        if (peer.failInfo) throw new Error('test peer stopped answering');
        await writeMessage(lp, {
          type: 'info',
          peerId,
          keyRecords: [keyRecord],
          modelCards: cards,
          load: peer.load,
        });
        await stream.close();
      } catch (err) {
        stream.abort(err as Error);
      }
    },
    { runOnLimitedConnection: true },
  );

  await libp2p.handle(INFERENCE_PROTOCOL, async (stream) => {
    peer.inferenceStreams++;
    stream.addEventListener('close', (event) => {
      if ((event as Event & { error?: Error }).error != null) peer.abortedStreams++;
    });
    const lp = lpStream(stream, { maxDataLength: MAX_INFERENCE_FRAME_BYTES });
    try {
      const message = await readMessage(lp, ClientToNodeRequest);
      if (behaviour === 'reset-before-answer') {
        peer.resetRequests++;
        stream.abort(new Error('test peer crashed'));
        return;
      }
      let opened;
      try {
        opened = await openInferenceRequest(message, {
          peerId,
          replay,
          keyFor: (id) => (id === hpke.keyId ? hpke.keyPair : undefined),
        });
      } catch (err) {
        await writeMessage(lp, errorFrame(err, { serverTime: Date.now() }));
        await stream.close();
        return;
      }
      const { request, writer } = opened;
      peer.requests.push(request);
      await writeMessage(lp, writer.start());
      if (behaviour === 'silent') {
        await new Promise<void>((resolve) => {
          stream.addEventListener('close', () => resolve(), { once: true });
          if (stream.status !== 'open') resolve();
        });
        return;
      }
      const events = scriptedEvents(request, answer, models);
      for (const [i, event] of events.entries()) {
        if (behaviour === 'die-mid-stream' && i === 2) {
          stream.abort(new Error('test peer died mid-answer'));
          return;
        }
        if (behaviour === 'slow' && i > 0) {
          await new Promise((r) => setTimeout(r, 200));
          if (stream.status !== 'open') return;
        }
        await writeMessage(lp, await writer.event(event));
      }
      await stream.close();
    } catch (err) {
      stream.abort(err as Error);
    }
  });

  await libp2p.dial(multiaddr(options.bootstrap));
  return peer;
}

/** Waits until the peer announces a `/p2p-circuit/webrtc` address (its relay reservation). */
export function waitForReservation(peer: TestPeer): Promise<string> {
  return eventually(
    () =>
      peer.libp2p
        .getMultiaddrs()
        .find((a) => WebRTC.matches(a))
        ?.toString(),
    'a relay reservation',
  );
}

// ---------------------------------------------------------------- light client

/** A light libp2p peer (WebSockets, identify): what a browser brings to a directory lookup. */
export async function startLightClient(): Promise<Libp2p> {
  return createLibp2p({
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify() },
  });
}

/** A browser-like Node peer: WebSockets to the bootstrap, WebRTC to nodes (signalled through the relay). */
export async function startWebRtcClient(): Promise<Libp2p> {
  return createLibp2p({
    transports: [
      webSockets(),
      webRTC({
        rtcConfiguration: { iceServers: [], bindAddress: '127.0.0.1' } as RTCConfiguration,
      }),
      circuitRelayTransport(),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify() },
  });
}

/** A web root for tests, `<temp>/app/` holding `files` (remove its parent when done). */
export async function makeWebRoot(files: Record<string, string>): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), 'tokenplace-webroot-')), 'app');
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}
