/**
 * DHT keys: a model `id` is provided under the CIDv1 (raw codec, sha256) of the UTF-8
 * string `tokenplace/model/<id>`; every inference node also provides the CID of
 * `tokenplace/inference-node`, so a peer can find nodes whatever they serve.
 */
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { create as createDigest } from 'multiformats/hashes/digest';
import { sha256 as sha256Code } from 'multiformats/hashes/sha2';
import { utf8 } from './bytes.js';
import { INFERENCE_NODE_CID_KEY, MODEL_CID_PREFIX } from './constants.js';
import { sha256 } from './crypto.js';

function cidOf(key: string): CID {
  return CID.createV1(raw.code, createDigest(sha256Code.code, sha256(utf8(key))));
}

export function modelCid(modelId: string): CID {
  return cidOf(`${MODEL_CID_PREFIX}${modelId}`);
}

export function inferenceNodeCid(): CID {
  return cidOf(INFERENCE_NODE_CID_KEY);
}
