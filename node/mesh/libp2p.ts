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
import { webRTC } from '@libp2p/webrtc';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import type { PrivateKey } from '@libp2p/interface';
import { CONNECTION_MONITOR, DHT_PROTOCOL } from '../../protocol/index.js';
import { webRTCDirectTransport } from './webrtc-direct.js';

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
    // A client that froze or lost its network mid-answer is disconnected within ~5 s, which
    // stops its generation; so is a frozen bootstrap, which the node then dials again.
    connectionMonitor: CONNECTION_MONITOR,
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
