// The silence watch and the memory of failed providers, over a real libp2p connection
// (TCP, Noise, yamux) between two peers in this process, and the hedged provider dial
// (dialFirst) over dials scripted here. The peer's ping handler here
// either echoes, as libp2p's ping service does, or takes the ping and never echoes: a
// fake of a frozen node, which cannot be frozen in-process. The real freeze (SIGSTOP on
// node processes) is in tests/mesh/liveness.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import type { Connection, Stream } from '@libp2p/interface';
import {
  dialFirst,
  ABANDONED_AFTER_MS,
  FAILED_PROVIDER_LAST_MS,
  MAX_PING_TIMEOUT_MS,
  MIN_PING_TIMEOUT_MS,
  PING_PROTOCOL,
  pingConnection,
  reachInTurn,
  pingTimeoutMs,
  rankProviders,
  RecentFailures,
  SilenceWatch,
  UnresponsiveNodeError,
} from '../../../protocol/index.js';

let server: Libp2p;
let client: Libp2p;
let connection: Connection;
/** How the server treats the next pings. */
let pingMode: 'echo' | 'swallow' | 'stall' = 'echo';
let pings = 0;
/** Ping streams the server took and never answered. */
const held: Stream[] = [];

async function peer(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    // No connection monitor: its own pings would count, and this file pings by hand.
    connectionMonitor: { enabled: false },
  });
}

beforeAll(async () => {
  [server, client] = await Promise.all([peer(), peer()]);
  await server.handle(
    PING_PROTOCOL,
    async (stream) => {
      pings++;
      if (pingMode === 'swallow') {
        held.push(stream);
        return;
      }
      if (pingMode === 'stall') {
        // Blocks this whole process, the watching side's event loop included, while the
        // ping is out: a long render, a GC pause, a laptop waking up.
        const until = Date.now() + 600;
        while (Date.now() < until) {
          // busy
        }
      }
      for await (const chunk of stream) stream.send(chunk);
      await stream.close();
    },
    { maxInboundStreams: 16 },
  );
  connection = await client.dial(server.getMultiaddrs()[0]!);
});

afterAll(async () => {
  held.forEach((s) => s.abort(new Error('test over')));
  await Promise.all([client?.stop(), server?.stop()]);
});

/** Resolves once `watch` reported the peer unresponsive, or after `ms` with undefined. */
function watchFor(
  ms: number,
  options: { quietMs: number; timeoutMs?: number },
  onWatch?: (watch: SilenceWatch) => void,
): Promise<{ err: UnresponsiveNodeError | undefined; afterMs: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const watch = new SilenceWatch(
      connection,
      (err) => resolve({ err, afterMs: Date.now() - started }),
      options,
    );
    onWatch?.(watch);
    setTimeout(() => {
      watch.stop();
      resolve({ err: undefined, afterMs: Date.now() - started });
    }, ms);
  });
}

describe('pingConnection', () => {
  it('pings the peer over that very connection and measures the round trip', async () => {
    pingMode = 'echo';
    const before = pings;
    const rtt = await pingConnection(connection);
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(rtt).toBeLessThan(1_000);
    expect(pings).toBe(before + 1);
  });
});

describe('SilenceWatch', () => {
  it('pings a silent peer after each quiet spell and stays calm while it answers', async () => {
    pingMode = 'echo';
    const before = pings;
    const { err } = await watchFor(700, { quietMs: 100, timeoutMs: 300 });
    expect(err).toBeUndefined();
    // One ping per quiet spell: about six in 700 ms.
    expect(pings - before).toBeGreaterThanOrEqual(3);
    expect(pings - before).toBeLessThanOrEqual(8);
  });

  it('does not ping while the peer keeps sending', async () => {
    pingMode = 'echo';
    const before = pings;
    let beat: ReturnType<typeof setInterval> | undefined;
    const { err } = await watchFor(600, { quietMs: 200, timeoutMs: 300 }, (watch) => {
      beat = setInterval(() => watch.progress(), 50);
    });
    clearInterval(beat);
    expect(err).toBeUndefined();
    expect(pings).toBe(before);
  });

  it('reports a peer that takes the ping and never answers, once, after quiet + timeout', async () => {
    pingMode = 'swallow';
    const reports: UnresponsiveNodeError[] = [];
    const started = Date.now();
    const err = await new Promise<UnresponsiveNodeError>((resolve) => {
      new SilenceWatch(
        connection,
        (e) => {
          reports.push(e);
          resolve(e);
        },
        { quietMs: 100, timeoutMs: 300 },
      );
    });
    const afterMs = Date.now() - started;
    expect(err).toBeInstanceOf(UnresponsiveNodeError);
    expect(err.name).toBe('UnresponsiveNodeError');
    expect(err.message).toMatch(/stopped responding \(no reply to a ping in 0\.3 s\)/);
    expect(afterMs).toBeGreaterThanOrEqual(390);
    expect(afterMs).toBeLessThan(1_500);
    // The watch ended with its report: nothing more comes.
    await new Promise((r) => setTimeout(r, 600));
    expect(reports).toHaveLength(1);
    pingMode = 'echo';
  });

  it('does not blame the peer for something it sent while the ping was out', async () => {
    pingMode = 'swallow';
    const { err } = await watchFor(500, { quietMs: 100, timeoutMs: 300 }, (watch) => {
      // A frame arrives after the ping went out, before its timeout.
      setTimeout(() => watch.progress(), 250);
    });
    pingMode = 'echo';
    expect(err).toBeUndefined();
  });

  it('does not blame the peer when this side stalled past the timeout', async () => {
    pingMode = 'stall';
    const before = pings;
    const { err } = await watchFor(1_000, { quietMs: 100, timeoutMs: 200 });
    pingMode = 'echo';
    expect(pings - before).toBeGreaterThanOrEqual(1);
    expect(err).toBeUndefined();
  });

  it('gives up watching a connection that closed', async () => {
    const other = await peer();
    const conn = await other.dial(server.getMultiaddrs()[0]!);
    const before = pings;
    let reported = false;
    const watch = new SilenceWatch(conn, () => (reported = true), { quietMs: 50 });
    await conn.close();
    await new Promise((r) => setTimeout(r, 300));
    await other.stop();
    watch.stop();
    expect(reported).toBe(false);
    expect(pings).toBe(before);
  });
});

describe('pingTimeoutMs', () => {
  it('is ten round trips, never under the minimum nor over the maximum', () => {
    expect(pingTimeoutMs(undefined)).toBe(MIN_PING_TIMEOUT_MS);
    expect(pingTimeoutMs(1)).toBe(MIN_PING_TIMEOUT_MS);
    expect(pingTimeoutMs(300)).toBe(3_000);
    expect(pingTimeoutMs(60_000)).toBe(MAX_PING_TIMEOUT_MS);
    expect(pingTimeoutMs(Number.NaN)).toBe(MIN_PING_TIMEOUT_MS);
  });
});

describe('RecentFailures', () => {
  const load = { active: 0, queued: 0, maxConcurrency: 2 };
  const providers = [
    { peerId: 'a', load },
    { peerId: 'b', load },
    { peerId: 'c', load: { active: 2, queued: 3, maxConcurrency: 2 } },
  ];
  const rtt = (id: string): number => ({ a: 5, b: 9, c: 1 })[id]!;

  it('ranks a provider that failed after every other, busy ones included, until it succeeds', () => {
    const failures = new RecentFailures();
    const rank = (): string[] =>
      rankProviders(providers, rtt, failures.lastFailure).map((p) => p.peerId);
    expect(rank()).toEqual(['a', 'b', 'c']);
    failures.failed('a');
    expect(rank()).toEqual(['b', 'c', 'a']);
    failures.succeeded('a');
    expect(rank()).toEqual(['a', 'b', 'c']);
  });

  it('ranks the provider that failed longest ago first among those that failed', async () => {
    const failures = new RecentFailures();
    failures.failed('b');
    await new Promise((r) => setTimeout(r, 5));
    failures.failed('a');
    expect(rankProviders(providers, rtt, failures.lastFailure).map((p) => p.peerId)).toEqual([
      'c',
      'b',
      'a',
    ]);
  });

  it('counts a request given up on as a failure only after a long wait for its answer', () => {
    const failures = new RecentFailures();
    // A change of mind a moment after sending: not the node's fault.
    expect(failures.abandoned('a', Date.now() - 1_000)).toBe(false);
    expect(failures.lastFailure('a')).toBeUndefined();
    // Nothing from the node for ABANDONED_AFTER_MS: its next request goes elsewhere first.
    expect(failures.abandoned('a', Date.now() - ABANDONED_AFTER_MS)).toBe(true);
    expect(rankProviders(providers, rtt, failures.lastFailure).map((p) => p.peerId)).toEqual([
      'b',
      'c',
      'a',
    ]);
  });

  it('forgets a failure after its time', async () => {
    expect(FAILED_PROVIDER_LAST_MS).toBeGreaterThanOrEqual(30_000);
    const failures = new RecentFailures({ forMs: 100 });
    const before = Date.now();
    failures.failed('a');
    expect(failures.lastFailure('a')).toBeGreaterThanOrEqual(before);
    expect(failures.lastFailure('b')).toBeUndefined();
    await new Promise((r) => setTimeout(r, 150));
    expect(failures.lastFailure('a')).toBeUndefined();
  });
});

describe('dialFirst', () => {
  /** A dial that settles after `ms`: with `value`, or failing with `error`. */
  const after = (ms: number, outcome: { value?: string; error?: string }) => (): Promise<string> =>
    new Promise((resolve, reject) =>
      setTimeout(
        () => (outcome.error != null ? reject(new Error(outcome.error)) : resolve(outcome.value!)),
        ms,
      ),
    );

  it('dials only the best candidate when it connects in time', async () => {
    const dialled: string[] = [];
    const plan: Record<string, () => Promise<string>> = {
      a: after(20, { value: 'A' }),
      b: after(20, { value: 'B' }),
    };
    const won = await dialFirst(
      ['a', 'b'],
      (c) => {
        dialled.push(c);
        return plan[c]!();
      },
      { hedgeMs: 200 },
    );
    expect(won).toEqual({ candidate: 'a', result: 'A' });
    await new Promise((r) => setTimeout(r, 250));
    expect(dialled).toEqual(['a']);
  });

  it('dials the next candidate beside a stalled one after hedgeMs, and the first to connect wins', async () => {
    const startedAt: Record<string, number> = {};
    const failures: string[] = [];
    const t0 = Date.now();
    const plan: Record<string, () => Promise<string>> = {
      a: after(1_000, { value: 'A' }),
      b: after(30, { value: 'B' }),
    };
    const won = await dialFirst(
      ['a', 'b'],
      (c) => {
        startedAt[c] = Date.now() - t0;
        return plan[c]!();
      },
      { hedgeMs: 150, onFailure: (c) => failures.push(c) },
    );
    expect(won).toEqual({ candidate: 'b', result: 'B' });
    expect(startedAt.a).toBeLessThan(50);
    expect(startedAt.b).toBeGreaterThanOrEqual(140);
    expect(startedAt.b).toBeLessThan(400);
    expect(Date.now() - t0).toBeLessThan(600);
    expect(failures).toEqual([]);
  });

  it('dials the next candidate at once when a dial fails, and reports the failure', async () => {
    const failures: string[] = [];
    const t0 = Date.now();
    const plan: Record<string, () => Promise<string>> = {
      a: after(10, { error: 'refused' }),
      b: after(10, { value: 'B' }),
    };
    const won = await dialFirst(['a', 'b'], (c) => plan[c]!(), {
      hedgeMs: 5_000,
      onFailure: (c, err) => failures.push(`${c}: ${(err as Error).message}`),
    });
    expect(won.candidate).toBe('b');
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(failures).toEqual(['a: refused']);
  });

  it('fails with every error once all candidates failed, and reports late failures too', async () => {
    const failures: string[] = [];
    const plan: Record<string, () => Promise<string>> = {
      a: after(200, { error: 'timed out' }),
      b: after(10, { error: 'refused' }),
    };
    const err = await dialFirst(['a', 'b'], (c) => plan[c]!(), {
      hedgeMs: 50,
      onFailure: (c) => failures.push(c),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AggregateError);
    expect((err as AggregateError).errors.map((e: Error) => e.message).sort()).toEqual([
      'refused',
      'timed out',
    ]);
    expect(failures).toEqual(['b', 'a']);
    await expect(dialFirst([], () => Promise.resolve('x'))).rejects.toBeInstanceOf(AggregateError);
  });

  it('stops at once when the signal aborts', async () => {
    const controller = new AbortController();
    const dialling = dialFirst(['a'], after(1_000, { value: 'A' }), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('the user pressed Stop')), 20);
    await expect(dialling).rejects.toThrow('the user pressed Stop');
  });
});

describe('reachInTurn', () => {
  it('gives the reachable providers in turn, each at most once, skipping those that fail', async () => {
    const failures: string[] = [];
    const dials: string[] = [];
    const pool = [{ peerId: 'a' }, { peerId: 'b' }, { peerId: 'c' }];
    const reached: string[] = [];
    for await (const { candidate, result } of reachInTurn(
      pool,
      async (p) => {
        dials.push(p.peerId);
        await new Promise((r) => setTimeout(r, 5));
        if (p.peerId === 'a') throw new Error('refused');
        return p.peerId.toUpperCase();
      },
      { hedgeMs: 1_000, onFailure: (p) => failures.push(p.peerId) },
    )) {
      reached.push(`${candidate.peerId}=${result}`);
      // The caller could not use it (it failed before answering): the next one, please.
    }
    expect(reached).toEqual(['b=B', 'c=C']);
    expect(failures).toEqual(['a']);
    expect(dials).toEqual(['a', 'b', 'c']);
  });

  it('throws the reason when the signal aborts', async () => {
    const controller = new AbortController();
    const turns = reachInTurn([{ peerId: 'a' }], () => new Promise<string>(() => {}), {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('client went away')), 20);
    await expect(turns.next()).rejects.toThrow('client went away');
  });
});
