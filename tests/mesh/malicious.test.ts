// A malicious directory, gateway or peer cannot make a client use a forged or swapped
// key record or model card, and a replayed sealed request is refused by the node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLibp2p, type Libp2p } from 'libp2p';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { identify } from '@libp2p/identify';
import { noise } from '@libp2p/noise';
import { peerIdFromString } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import { lpStream } from '@libp2p/utils';
import { tcp } from '@libp2p/tcp';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import { multiaddr } from '@multiformats/multiaddr';
import {
  DIRECTORY_PROTOCOL,
  fetchNodeInfo,
  FrameDecoder,
  fromBase64Url,
  generateHpkeKeyPair,
  HPKE_SUITE,
  INFO_PROTOCOL,
  lookupDirectory,
  MAX_FRAME_BYTES,
  NodeToClientInferenceMessage,
  NodeToClientInfo,
  readMessage,
  sealInferenceRequest,
  SEALED_REQUEST_CONTENT_TYPE,
  selectKeyRecord,
  signKeyRecord,
  signModelCard,
  toBase64Url,
  decodeMessage,
  utf8,
  writeMessage,
  ClientToDirectoryLookup,
  ClientToNodeInfoRequest,
  type DirectoryToClientProviders,
  type ModelCard,
  type SignedEnvelope,
} from '../../protocol/index.js';
import { TokenPlaceClient } from '../../node/client/index.js';
import {
  eventually,
  removeTempDirs,
  startBootstrapProcess,
  startNodeProcess,
  type BootstrapProcess,
  type NodeProcess,
} from '../helpers/mesh.js';

let bootstrap: BootstrapProcess;
let provider: NodeProcess;
let evil: Libp2p;
let victim: Libp2p;
let realInfo: NodeToClientInfo;

/** A plain libp2p peer with a loopback WebSocket listener (attacker or client). */
async function peer(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets(), tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify(), ping: ping() },
  });
}

function decodePayload(envelope: SignedEnvelope): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(fromBase64Url(envelope.payload))) as Record<
    string,
    unknown
  >;
}

beforeAll(async () => {
  bootstrap = await startBootstrapProcess();
  provider = await startNodeProcess([bootstrap.multiaddr], {
    extraArgs: ['--listen', '/ip4/127.0.0.1/tcp/0'],
  });
  victim = await peer();
  evil = await peer();
  // What the real node says about itself, fetched over a Noise-authenticated connection.
  await eventually(
    async () => {
      const providers = await lookupDirectory(victim, multiaddr(bootstrap.multiaddr), {
        model: 'demo',
      });
      return providers.some((p) => p.peerId === provider.peerId);
    },
    30_000,
    'the provider in the directory',
  );
  const [entry] = await lookupDirectory(victim, multiaddr(bootstrap.multiaddr), { model: 'demo' });
  const conn = await victim.dial(entry!.addrs.filter((a) => !a.toString().includes('p2p-circuit')));
  const stream = await conn.newStream(INFO_PROTOCOL);
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
  await writeMessage(lp, { type: 'info-request' });
  realInfo = await readMessage(lp, NodeToClientInfo);
  await stream.close();
});

afterAll(async () => {
  await evil?.stop();
  await victim?.stop();
  await Promise.all([provider, bootstrap].filter((p) => p != null).map((p) => p.cli.stop()));
  await removeTempDirs();
});

describe('a malicious directory', () => {
  it('cannot forge, alter or re-attribute model cards: the client drops them all', async () => {
    const attacker = await generateKeyPair('Ed25519');
    const realCard = realInfo.modelCards[0]!;
    const card = decodePayload(realCard) as unknown as ModelCard;
    const forged = await signModelCard(attacker, {
      ...card,
      load: { active: 0, queued: 0, maxConcurrency: 64 },
    });
    const altered: SignedEnvelope = {
      ...realCard,
      payload: toBase64Url(
        utf8(JSON.stringify({ ...card, load: { active: 0, queued: 0, maxConcurrency: 64 } })),
      ),
    };
    await evil.handle(DIRECTORY_PROTOCOL, async (stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
      await readMessage(lp, ClientToDirectoryLookup);
      const answer: DirectoryToClientProviders = {
        type: 'providers',
        providers: [
          // the real node's card, claimed for the attacker's own PeerId
          {
            peerId: evil.peerId.toString(),
            addrs: evil.getMultiaddrs().map(String),
            cards: [realCard],
          },
          // a card for the real node, signed by the attacker
          { peerId: provider.peerId, addrs: [], cards: [forged] },
          // the real node's card with its load edited
          { peerId: provider.peerId, addrs: [], cards: [altered] },
        ],
      };
      await writeMessage(lp, answer);
      await stream.close();
    });
    const providers = await lookupDirectory(victim, evil.getMultiaddrs()[0]!, { model: 'demo' });
    expect(providers).toEqual([]);
    await evil.unhandle(DIRECTORY_PROTOCOL);
  });
});

describe('a malicious peer', () => {
  it("cannot pass off another node's key record as its own", async () => {
    await evil.handle(INFO_PROTOCOL, async (stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
      await readMessage(lp, ClientToNodeInfoRequest);
      // The real node's records, signed by the real node — served by the attacker.
      await writeMessage(lp, { ...realInfo, peerId: evil.peerId.toString() });
      await stream.close();
    });
    const conn = await victim.dial(evil.getMultiaddrs()[0]!);
    await expect(fetchNodeInfo(conn)).rejects.toMatchObject({ name: 'InvalidSignatureError' });
    await evil.unhandle(INFO_PROTOCOL);
  });

  it('cannot claim to be the real node on its own connection', async () => {
    await evil.handle(INFO_PROTOCOL, async (stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
      await readMessage(lp, ClientToNodeInfoRequest);
      await writeMessage(lp, realInfo);
      await stream.close();
    });
    const conn = await victim.dial(evil.getMultiaddrs()[0]!);
    await expect(fetchNodeInfo(conn)).rejects.toMatchObject({ name: 'PeerIdMismatchError' });
    await evil.unhandle(INFO_PROTOCOL);
  });
});

describe('a malicious HTTP gateway', () => {
  /** A proxy in front of the bootstrap's gateway that swaps the node's key record. */
  async function keySwappingProxy(): Promise<{ url: string; close: () => Promise<void> }> {
    const attacker = await generateKeyPair('Ed25519');
    const attackerHpke = await generateHpkeKeyPair();
    const now = Date.now();
    const swapped = await signKeyRecord(attacker, {
      type: 'key-record',
      v: 1,
      peerId: provider.peerId, // claims to be the node's record…
      keyId: attackerHpke.keyId,
      suite: { ...HPKE_SUITE },
      publicKey: toBase64Url(attackerHpke.publicKey), // …for the attacker's key
      notBefore: now,
      notAfter: now + 3_600_000,
    });
    const target = new URL(bootstrap.httpUrl);
    const server: Server = createServer((req, res) => {
      if (req.url?.endsWith('/public-key')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ peerId: provider.peerId, keyRecords: [swapped] }));
        return;
      }
      const upstream = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () => new Promise((r) => server.close(() => r())),
    };
  }

  it('cannot swap the node key: a client pinned to the PeerId refuses it', async () => {
    const proxy = await keySwappingProxy();
    try {
      const client = new TokenPlaceClient({
        baseURL: `${proxy.url}/nodes/${provider.peerId}/v1`,
        peerId: provider.peerId,
      });
      const err = await client
        .createChatCompletion({ model: 'demo', messages: [{ role: 'user', content: 'secret' }] })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'InvalidSignatureError' });
      expect((err as Error).message).toMatch(/signature does not verify/);
    } finally {
      await proxy.close();
    }
  });

  it('cannot replay a sealed request: the node refuses the second copy', async () => {
    const keys = (await (
      await fetch(`${bootstrap.httpUrl}/nodes/${provider.peerId}/v1/public-key`)
    ).json()) as {
      keyRecords: unknown[];
    };
    const key = await selectKeyRecord(keys.keyRecords, peerIdFromString(provider.peerId));
    const { message } = await sealInferenceRequest(key, {
      endpoint: 'completions',
      body: { model: 'demo', prompt: 'abc', max_tokens: 3 },
    });
    const send = () =>
      fetch(`${bootstrap.httpUrl}/nodes/${provider.peerId}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': SEALED_REQUEST_CONTENT_TYPE },
        body: JSON.stringify(message),
      });
    const first = await send();
    const firstFrames = new FrameDecoder(1 << 20).push(new Uint8Array(await first.arrayBuffer()));
    expect(decodeMessage(firstFrames[0]!, NodeToClientInferenceMessage).type).toBe(
      'response-start',
    );
    const replay = await send();
    const frames = new FrameDecoder(1 << 20).push(new Uint8Array(await replay.arrayBuffer()));
    expect(decodeMessage(frames[0]!, NodeToClientInferenceMessage)).toMatchObject({
      type: 'error',
      code: 'replayed_request',
    });
  });
});
