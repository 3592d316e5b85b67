/**
 * The bootstrap's libp2p peer: a WebSockets listener (browsers and nodes dial it), Noise
 * and yamux, identify and ping, a circuit relay v2 server (so nodes behind NAT can be
 * reached: the relay carries only the WebRTC signalling, with libp2p's per-connection
 * limits), and the private Kad-DHT in server mode with short-lived provider records.
 *
 * It also dials out over WebSockets, TCP and relayed circuits, to fetch the info of
 * nodes that other bootstraps found for the DHT, and to serve the HTTP gateway.
 */
import {
  circuitRelayServer,
  circuitRelayTransport,
  type CircuitRelayService,
} from '@libp2p/circuit-relay-v2';
import { identify, type Identify } from '@libp2p/identify';
import type { PrivateKey } from '@libp2p/interface';
import {
  kadDHT,
  passthroughMapper,
  removePrivateAddressesMapper,
  type KadDHT,
} from '@libp2p/kad-dht';
import { noise } from '@libp2p/noise';
import { ping, type Ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import { createLibp2p, type Libp2p } from 'libp2p';
import { CONNECTION_MONITOR, DHT_PROTOCOL } from '../protocol/index.js';
import type { BootstrapConfig } from './config.js';
import type { BootstrapMetrics } from './metrics.js';
import { tapEncrypter, type Tap } from './tap.js';

// A type alias, not an interface: libp2p's ServiceMap constraint needs the implicit index signature.
export type BootstrapServices = {
  identify: Identify;
  ping: Ping;
  dht: KadDHT;
  relay: CircuitRelayService;
};

export type BootstrapLibp2p = Libp2p<BootstrapServices>;

/** How long a provider record stays valid on this DHT server (seconds): dead nodes fall out fast. */
export const PROVIDE_VALIDITY_S = 300;
/** How often expired provider records are swept (seconds). */
export const PROVIDER_CLEANUP_INTERVAL_S = 60;

export interface BootstrapLibp2pInit {
  config: BootstrapConfig;
  privateKey: PrivateKey;
  metrics: BootstrapMetrics;
  tap?: Tap;
}

/** Creates (but does not start) the bootstrap's libp2p peer. */
export function createBootstrapLibp2p(init: BootstrapLibp2pInit): Promise<BootstrapLibp2p> {
  const { config } = init;
  const encrypter = init.tap != null ? tapEncrypter(noise(), init.tap) : noise();
  return createLibp2p({
    start: false,
    privateKey: init.privateKey,
    addresses: {
      listen: config.listen,
      ...(config.announce.length > 0 ? { announce: config.announce } : {}),
    },
    transports: [webSockets(), tcp(), circuitRelayTransport()],
    connectionEncrypters: [encrypter],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: config.maxConnections,
      // Per remote IP, per second. libp2p's default (5) turns away a school or an office
      // whose users share one NAT or CGNAT address.
      inboundConnectionThreshold: config.maxConnectionRatePerIp,
      maxIncomingPendingConnections: config.maxPendingConnections,
    },
    // A node that froze or lost its network leaves the directory within ~5 s.
    connectionMonitor: CONNECTION_MONITOR,
    metrics: init.metrics.libp2pMetrics(),
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        // Serve the DHT even though auto mode would see no public address (behind a
        // reverse proxy, or on a LAN): answering queries is what a bootstrap is for.
        clientMode: false,
        // A lone bootstrap answers from its own provider records at once instead of
        // waiting for a second DHT server to appear.
        allowQueryWithZeroPeers: true,
        peerInfoMapper: config.allowPrivateAddresses
          ? passthroughMapper
          : removePrivateAddressesMapper,
        providers: {
          provideValidity: PROVIDE_VALIDITY_S,
          cleanupInterval: PROVIDER_CLEANUP_INTERVAL_S,
        },
      }),
      relay: circuitRelayServer({
        reservations: {
          maxReservations: config.maxReservations,
          reservationTtl: config.reservationTtl * 1000,
          defaultDurationLimit: config.relayDurationLimit * 1000,
          defaultDataLimit: BigInt(config.relayDataLimit),
        },
      }),
    },
  });
}
