import { describe, expect, it } from 'vitest';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { inferenceNodeCid, modelCid } from '../../protocol/cid.js';

describe('model CIDs', () => {
  it('are CIDv1 raw sha256 of tokenplace/model/<id>, as an independent multiformats computation', async () => {
    const expected = CID.createV1(
      raw.code,
      await sha256.digest(new TextEncoder().encode('tokenplace/model/demo')),
    );
    const cid = modelCid('demo');
    expect(cid.version).toBe(1);
    expect(cid.code).toBe(raw.code);
    expect(cid.toString()).toBe(expected.toString());
    expect(cid.toString()).toMatch(/^bafkrei/);
  });

  it('differ per model and from the generic inference-node key', () => {
    const ids = ['demo', 'demo-random', 'llama-3.2-3b', 'Demo'];
    const cids = new Set([
      ...ids.map((id) => modelCid(id).toString()),
      inferenceNodeCid().toString(),
    ]);
    expect(cids.size).toBe(ids.length + 1);
  });
});
