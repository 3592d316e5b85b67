/**
 * The node's signed model card: what it serves, its hardware and a load snapshot,
 * signed with its identity key. Re-signed when the load changes (at most once a second)
 * and well before it expires, so directories always relay a fresh card.
 */
import type { PrivateKey } from '@libp2p/interface';
import {
  MODEL_CARD_TTL_MS,
  signModelCard,
  type Load,
  type SignedEnvelope,
} from '../../protocol/index.js';
import type { Engine } from '../engine/index.js';
import { hardwareSummary } from '../hardware.js';

const RESIGN_INTERVAL_MS = 1_000;

export class ModelCardSigner {
  readonly #engine: Engine;
  readonly #identity: PrivateKey;
  readonly #peerId: string;
  readonly #hardware: ReturnType<typeof hardwareSummary>;
  #cached: { envelope: SignedEnvelope; load: string; issuedAt: number } | undefined;
  #pending: Promise<SignedEnvelope> | undefined;

  constructor(engine: Engine, identity: PrivateKey, peerId: string) {
    this.#engine = engine;
    this.#identity = identity;
    this.#peerId = peerId;
    this.#hardware = hardwareSummary(engine);
  }

  load(): Load {
    return this.#engine.load();
  }

  /** The current signed card (cached while still fresh and the load unchanged). */
  async card(now = Date.now()): Promise<SignedEnvelope> {
    const load = this.load();
    const key = JSON.stringify(load);
    const cached = this.#cached;
    const fresh = cached != null && now - cached.issuedAt < MODEL_CARD_TTL_MS / 2;
    if (
      cached != null &&
      fresh &&
      (cached.load === key || now - cached.issuedAt < RESIGN_INTERVAL_MS)
    ) {
      return cached.envelope;
    }
    this.#pending ??= (async () => {
      const m = this.#engine.model;
      const envelope = await signModelCard(this.#identity, {
        type: 'model-card',
        v: 1,
        peerId: this.#peerId,
        model: {
          id: m.id,
          family: m.family,
          parameters: m.parameters,
          quantization: m.quantization,
          contextLength: m.contextLength,
          ggufSha256: m.ggufSha256,
        },
        load,
        hardware: this.#hardware,
        issuedAt: now,
        expiresAt: now + MODEL_CARD_TTL_MS,
      });
      this.#cached = { envelope, load: key, issuedAt: now };
      return envelope;
    })().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }
}
