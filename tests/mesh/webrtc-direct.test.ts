// A node's WebRTC-direct port, where any host can send STUN:
// - a flood of binding requests (each for a new ICE ufrag, as a browser's first dial
//   sends) does not take the node down: unguarded, a thousand a second took a node from
//   ~175 MiB to ~890 MiB and its API from ~5 ms to 7–9 s (see node/mesh/webrtc-direct.ts);
// - Ctrl-C ends the node with exit code 0 while STUN requests keep arriving, as they do
//   whenever browsers are connected (consent checks) or dialling. It used to die with
//   SIGSEGV, or glibc's "pthread_mutex_lock … Assertion failed" (SIGABRT), in 3 of 5
//   stops: libdatachannel left libjuice calling into its freed STUN listener.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  removeTempDirs,
  startBootstrapProcess,
  startNodeProcess,
  type BootstrapProcess,
  type NodeProcess,
} from '../helpers/mesh.js';
import { freeUdpPort, isStunMessage, sendStunRequests } from '../helpers/stun.js';

const STOPS = 3;
/** What a node's ICE agent sends back: a binding request of its own, success, or error. */
const STUN_BACK = [0x0001, 0x0101, 0x0111];

let bootstrap: BootstrapProcess;

beforeAll(async () => {
  bootstrap = await startBootstrapProcess({ extraArgs: ['--log-level', 'error'] });
});

afterAll(async () => {
  await bootstrap?.cli.stop();
  await removeTempDirs();
});

describe('a node’s WebRTC-direct port', () => {
  it('keeps the node serving through a STUN flood, and takes handshakes again after it', async () => {
    const { node, port } = await startDirectNode();
    try {
      const pid = node.cli.child.pid!;
      const before = rssMiB(pid);
      const flood = sendStunRequests(port, 1);
      const apiMs: number[] = [];
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 750));
        const started = performance.now();
        const res = await fetch(`${node.apiUrl}/models`);
        expect(res.status).toBe(200);
        apiMs.push(performance.now() - started);
      }
      const sent = flood.stop();
      const grown = rssMiB(pid) - before;
      expect(sent).toBeGreaterThan(1_000);
      // Generous bounds, far from the unguarded figures (7–9 s, +700 MiB).
      expect(Math.max(...apiMs)).toBeLessThan(2_000);
      expect(grown).toBeLessThan(150);
      // The flood's handshakes time out (10 s) and give their slots back.
      expect(isStunMessage(await firstReply(port, 20_000), STUN_BACK)).toBe(true);
    } finally {
      await node.cli.stop();
    }
  }, 60_000);

  it('exits 0 on Ctrl-C while STUN requests keep arriving', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < STOPS; i++) {
      const { node, port } = await startDirectNode();
      try {
        if (i === 0) {
          // The requests do reach the node's ICE stack: it starts checking back, as it
          // does for a browser that dials it.
          expect(isStunMessage(await firstReply(port), STUN_BACK)).toBe(true);
        }
        const stopping = node.cli.stop();
        const stun = sendStunRequests(port);
        const code = await stopping;
        expect(stun.stop()).toBeGreaterThan(0);
        outcomes.push(`exit ${code} ${node.cli.child.signalCode ?? ''}`.trim());
      } finally {
        await node.cli.stop(); // at once if it has exited
      }
    }
    expect(outcomes).toEqual(Array(STOPS).fill('exit 0'));
  }, 120_000);
});

function rssMiB(pid: number): number {
  const kib = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kib) / 1024;
}

/** A node on the demo model whose only listener is a WebRTC-direct port on loopback. */
async function startDirectNode(): Promise<{ node: NodeProcess; port: number }> {
  const port = await freeUdpPort();
  const node = await startNodeProcess([bootstrap.multiaddr], {
    extraArgs: ['--listen', `/ip4/127.0.0.1/udp/${port}/webrtc-direct`, '--log-level', 'error'],
  });
  return { node, port };
}

/** The first STUN message the node sends to a socket that sends it requests. */
async function firstReply(port: number, timeoutMs?: number): Promise<Buffer> {
  const stun = sendStunRequests(port, 200, timeoutMs);
  try {
    return await stun.firstReply;
  } finally {
    stun.stop();
  }
}
