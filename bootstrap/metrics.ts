/**
 * The bootstrap's Prometheus metrics: libp2p's own (connections, streams, DHT, relay,
 * transfer, process — through `@libp2p/prometheus-metrics`) and token.place's, in one
 * registry per bootstrap, rendered at `GET /metrics`.
 *
 * | metric | type | meaning |
 * | --- | --- | --- |
 * | `tokenplace_directory_lookups_total{result}` | counter | directory-protocol lookups answered (`ok`) or refused (`error`) |
 * | `tokenplace_directory_providers` | gauge | inference nodes in the directory now |
 * | `tokenplace_dht_routing_table_size` | gauge | peers in the DHT routing table |
 * | `tokenplace_relay_reservations` | gauge | circuit relay reservations held now |
 * | `tokenplace_relayed_bytes_total` | counter | bytes carried on circuit relay streams |
 * | `tokenplace_gateway_requests_total{mode}` | counter | OpenAI gateway requests, `plain` or `encrypted` |
 */
import { RELAY_V2_HOP_CODEC, RELAY_V2_STOP_CODEC } from '@libp2p/circuit-relay-v2';
import type { Metrics, Stream, StreamMessageEvent } from '@libp2p/interface';
import { prometheusMetrics, type PrometheusMetricsComponents } from '@libp2p/prometheus-metrics';
import { Counter, Gauge, Registry } from 'prom-client';

const RELAY_PROTOCOLS = new Set([RELAY_V2_HOP_CODEC, RELAY_V2_STOP_CODEC]);

/**
 * Counts the bytes a stream receives. It observes dispatched messages instead of adding
 * a listener: a listener would make the stream deliver buffered data before the relay
 * attaches its own reader.
 */
function countReceived(stream: Stream, counter: Counter): void {
  const dispatchEvent = stream.dispatchEvent.bind(stream);
  stream.dispatchEvent = (event: Event): boolean => {
    if (event.type === 'message') counter.inc((event as StreamMessageEvent).data.byteLength);
    return dispatchEvent(event);
  };
}

/** Live values the gauges read at scrape time. */
export interface MetricSources {
  directoryProviders(): number;
  routingTableSize(): number;
  reservations(): number;
}

export class BootstrapMetrics {
  readonly registry = new Registry();
  readonly directoryLookups: Counter<'result'>;
  readonly gatewayRequests: Counter<'mode'>;
  readonly relayedBytes: Counter;
  #sources: MetricSources | undefined;

  constructor() {
    const registers = [this.registry];
    this.directoryLookups = new Counter({
      name: 'tokenplace_directory_lookups_total',
      help: 'Lookups on the directory protocol, answered (result="ok") or refused as malformed (result="error").',
      labelNames: ['result'],
      registers,
    });
    this.gatewayRequests = new Counter({
      name: 'tokenplace_gateway_requests_total',
      help: 'Inference requests to the OpenAI HTTP gateway: mode="plain" (the gateway sees the text) or mode="encrypted" (sealed end to end).',
      labelNames: ['mode'],
      registers,
    });
    this.relayedBytes = new Counter({
      name: 'tokenplace_relayed_bytes_total',
      help: 'Bytes received on circuit relay v2 hop and stop streams (relayed connections, mostly WebRTC signalling, plus reservation messages).',
      registers,
    });
    const sources = (): MetricSources | undefined => this.#sources;
    new Gauge({
      name: 'tokenplace_directory_providers',
      help: 'Inference nodes in the directory (connected to this bootstrap, or found on the DHT and cached).',
      registers,
      collect() {
        this.set(sources()?.directoryProviders() ?? 0);
      },
    });
    new Gauge({
      name: 'tokenplace_dht_routing_table_size',
      help: 'Peers in the Kademlia routing table of the private DHT.',
      registers,
      collect() {
        this.set(sources()?.routingTableSize() ?? 0);
      },
    });
    new Gauge({
      name: 'tokenplace_relay_reservations',
      help: 'Circuit relay v2 reservations currently held (about one per inference node using this relay).',
      registers,
      collect() {
        this.set(sources()?.reservations() ?? 0);
      },
    });
  }

  /** Connects the gauges to the running services. */
  observe(sources: MetricSources): void {
    this.#sources = sources;
  }

  /**
   * libp2p's `metrics` option: Prometheus metrics in this bootstrap's registry, which
   * also count the bytes on circuit relay streams. (Counted here, where libp2p hands
   * every negotiated stream to its metrics, because stream middleware — `libp2p.use()` —
   * breaks inbound streams in libp2p 3.3.)
   */
  libp2pMetrics(): (components: PrometheusMetricsComponents) => Metrics {
    const factory = prometheusMetrics({ registry: this.registry });
    const counter = this.relayedBytes;
    return (components) => {
      const metrics = factory(components);
      const track = metrics.trackProtocolStream.bind(metrics);
      metrics.trackProtocolStream = (stream: Stream): void => {
        track(stream);
        if (RELAY_PROTOCOLS.has(stream.protocol)) countReceived(stream, counter);
      };
      return metrics;
    };
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
