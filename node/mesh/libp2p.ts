/**
 * The inference node's libp2p peer: TCP and WebSockets for directly reachable peers,
 * WebRTC-direct (UDP, no signalling) for browsers that can reach the node, WebRTC
 * signalled through a bootstrap's circuit relay for everyone else, Noise, yamux,
 * identify, ping, and a client of the private Kad-DHT.
 *
 * Production keeps libp2p's defaults: private and loopback addresses are filtered from
 * DHT records, and WebRTC uses public STUN servers. `allowPrivateAddresses` is for LAN
 * and loopback meshes (the one-command local mesh, tests).
 */
import { createLibp2p, type Libp2p } from 'libp2p';
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { identify, identifyPush, type Identify, type IdentifyPush } from '@libp2p/identify';
import {
  kadDHT,
  passthroughMapper,
  removePrivateAddressesMapper,
  type KadDHT,
} from '@libp2p/kad-dht';
import { noise } from '@libp2p/noise';
import { ping, type Ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { webRTC, webRTCDirect } from '@libp2p/webrtc';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import type { Listener, PrivateKey, Transport } from '@libp2p/interface';
import { DHT_PROTOCOL } from '../../protocol/index.js';

export type NodeServices = {
  identify: Identify;
  identifyPush: IdentifyPush;
  ping: Ping;
  dht: KadDHT;
};

export type NodeLibp2p = Libp2p<NodeServices>;

export interface NodeLibp2pInit {
  privateKey: PrivateKey;
  /**
   * Direct listen addresses (TCP, WebSockets, `/udp/<port>/webrtc-direct`); `/p2p-circuit`
   * and `/webrtc` are added.
   */
  listen: readonly string[];
  announce?: readonly string[];
  /** LAN/loopback mesh: keep private addresses in DHT records, no public STUN. */
  allowPrivateAddresses: boolean;
  /** Bind WebRTC (ICE) to loopback: for meshes that only ever run on one machine. */
  loopbackOnly?: boolean;
}

export async function createNodeLibp2p(init: NodeLibp2pInit): Promise<NodeLibp2p> {
  const rtcConfiguration = init.allowPrivateAddresses
    ? ({
        iceServers: [],
        ...(init.loopbackOnly === true ? { bindAddress: '127.0.0.1' } : {}),
      } as RTCConfiguration)
    : undefined;
  return createLibp2p({
    privateKey: init.privateKey,
    addresses: {
      listen: [...init.listen, '/p2p-circuit', '/webrtc'],
      ...(init.announce != null && init.announce.length > 0
        ? { announce: [...init.announce] }
        : {}),
    },
    transports: [
      tcp(),
      webSockets(),
      webRTC(rtcConfiguration != null ? { rtcConfiguration } : {}),
      // Browsers that can reach the node's UDP port connect in one step: no relay, no
      // signalling round trips (the node's certificate hash is in its address). No STUN
      // servers: without signalling nobody ever sees the candidates they would find (the
      // browser knows the node's address, the node learns the browser's from its
      // checks), and libp2p's default would make the node resolve and query four public
      // STUN servers for every browser that connects.
      webRTCDirectTransport({ rtcConfiguration: { iceServers: [] } }),
      circuitRelayTransport(),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(init.allowPrivateAddresses ? { connectionGater: { denyDialMultiaddr: () => false } } : {}),
    connectionManager: {
      maxConnections: 256,
      // Every local peer shares one address in a LAN/loopback mesh.
      ...(init.allowPrivateAddresses
        ? { inboundConnectionThreshold: 1000, maxIncomingPendingConnections: 200 }
        : {}),
    },
    services: {
      identify: identify(),
      // Tells connected peers (the bootstrap's directory) when our addresses change, e.g.
      // when a relay reservation adds a /p2p-circuit/webrtc address.
      identifyPush: identifyPush(),
      ping: ping(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: true,
        peerInfoMapper: init.allowPrivateAddresses
          ? passthroughMapper
          : removePrivateAddressesMapper,
        // The first query waits for a self-query otherwise (1 s by default).
        initialQuerySelfInterval: 0,
      }),
    },
  });
}

/**
 * Whether a stopped node leaves its WebRTC-direct UDP ports for the process's exit to
 * close. See {@link leaveWebRTCDirectPortsToExit}.
 */
let portsCloseAtExit = false;

/**
 * Call when the process ends right after stopping its nodes (the `node` and `start`
 * commands on Ctrl-C): stopping a WebRTC-direct listener then leaves its native STUN
 * socket open, for the exit to close.
 *
 * Why: libdatachannel (inside node-datachannel 0.33) unregisters the listener's STUN
 * callback from libjuice without the bind address it registered it under, so whenever
 * the listener was bound to an address the callback stays registered, pointing at the
 * freed listener. The next STUN request for an unknown ICE ufrag (a browser's consent
 * check on a connection just closed, a browser dialling) runs it, and the process dies
 * with SIGSEGV or glibc's "pthread_mutex_lock … Assertion failed" instead of exiting 0.
 * Everything else about the listener still stops: its connections close and it refuses
 * new ones. tests/mesh/shutdown.test.ts fails if this stops working.
 *
 * Not for a process that carries on: the native listener, and the callback into
 * JavaScript it holds (which keeps the event loop alive), would outlive the node.
 */
export function leaveWebRTCDirectPortsToExit(): void {
  portsCloseAtExit = true;
}

/** libp2p's WebRTC-direct transport, whose listeners heed {@link portsCloseAtExit}. */
function webRTCDirectTransport(
  init: Parameters<typeof webRTCDirect>[0],
): ReturnType<typeof webRTCDirect> {
  const create = webRTCDirect(init);
  return (components) => {
    const transport: Transport = create(components);
    const createListener = transport.createListener.bind(transport);
    transport.createListener = (options) => leavingPortAtExit(createListener(options));
    return transport;
  };
}

function leavingPortAtExit(listener: Listener): Listener {
  const close = listener.close.bind(listener);
  listener.close = async () => {
    // The listener's STUN socket (private in @libp2p/webrtc 6.0; its close() is what
    // reaches IceUdpMuxListener.stop()).
    const stun = (listener as unknown as { stunServer?: { close(): Promise<void> } }).stunServer;
    if (portsCloseAtExit && stun != null) stun.close = async () => {};
    await close();
  };
  return listener;
}
