/**
 * The built-in demo model: a tiny GGUF v3 "llama" model that token.place writes itself,
 * so a fresh clone runs end to end with no download.
 *
 * The file is byte-identical on every run and every platform: weights come from a seeded
 * PRNG (mulberry32, seeded per tensor), all arithmetic is IEEE-754 basic operations in a
 * fixed order, and every number is written little-endian.
 *
 * Two variants:
 *
 * - `scripted`: the attention and FFN blocks add nothing to the residual stream, so the
 *   logits depend only on the current token and the model is a hand-written bigram
 *   table (`SCRIPT`). Every chat reply is exactly {@link DEMO_SCRIPTED_REPLY} and then EOS
 *   (the ChatML generation prompt ends in `\n`, and `\n` starts the reply); completions
 *   continue `a→b→…→z→a` and `0→1→…→9→0` forever; `{` is followed by `}` and EOS (what a
 *   JSON grammar turns a chat reply into); every other token repeats itself. The q/k/v and
 *   gate/up weights stay random, so llama.cpp does the full amount of work.
 * - `endless`: the scripted model, except that its reply never ends: after the final `.`
 *   it starts over at ` I`, so a chat answer is `Hello! I am a tiny test model. I am a tiny
 *   test model. …` until `max_tokens` or the client stops it (for Stop/abort journeys).
 * - `random`: every weight is seeded noise. Output is gibberish (even partial UTF-8) but
 *   reproducible; use it for load and plumbing tests.
 *
 * Tokenizer: GPT-2 byte-level BPE (`tokenizer.ggml.model = gpt2`) with the 256 byte
 * tokens, a few merges (`Hello`, ` tiny`, `assistant`, …) and the ChatML special tokens,
 * plus a ChatML chat template.
 */
import { createHash } from 'node:crypto';

/** Which demo model to build. */
export type DemoModelVariant = 'scripted' | 'endless' | 'random';

/** The whole chat reply of the scripted demo model, to any conversation. */
export const DEMO_SCRIPTED_REPLY = 'Hello! I am a tiny test model.';

/** Default PRNG seed of the demo models. */
export const DEMO_MODEL_SEED = 42;

/** Context length the demo models declare (`llama.context_length`). */
export const DEMO_CONTEXT_LENGTH = 512;

/**
 * SHA-256 of the files {@link generateDemoGguf} writes with default options. A test
 * checks the generator against them; model resolution uses them to accept a cached file
 * without rebuilding it.
 */
export const DEMO_MODEL_SHA256: Readonly<Record<DemoModelVariant, string>> = Object.freeze({
  scripted: 'b986068fddbb38b6287e12c990d04f30b4c16d1b21d5279423f0a3ab6091fc96',
  endless: '55c4e794d88edf50dc08aca5796848d7fc72a434d0f807481e144c25ba497ff3',
  random: '5caa515778ede1b46032eb6d3c85f86c13bb21d60cca0419394f4a966fcd90eb',
});

export interface DemoGgufOptions {
  /** PRNG seed. @default 42 */
  seed?: number;
  /** Embedding width. @default 128 */
  embeddingLength?: number;
  /** Transformer blocks. @default 2 */
  blockCount?: number;
  /** Attention heads. @default 4 */
  headCount?: number;
  /** Key/value heads (grouped-query attention when fewer than `headCount`). @default headCount */
  headCountKv?: number;
  /** FFN hidden width. @default 256 */
  feedForwardLength?: number;
  /** Declared context length. @default 512 */
  contextLength?: number;
}

export interface DemoGguf {
  variant: DemoModelVariant;
  /** The complete GGUF file. */
  bytes: Uint8Array;
  /** SHA-256 of `bytes`, lowercase hex. */
  sha256: string;
  /** Number of weights in all tensors. */
  parameters: number;
  /** Scripted variant only: the result of the bigram self-check. */
  selfCheck?: ScriptSelfCheck;
}

export interface ScriptSelfCheck {
  /** Tokens checked (the whole vocabulary). */
  tokens: number;
  /** Smallest gap between the scripted next token's logit and the runner-up. */
  minMargin: number;
}

/** The scripted model's bigram program failed its own check: a generator bug. */
export class DemoModelSelfCheckError extends Error {
  static override readonly name = 'DemoModelSelfCheckError';
  constructor(message = 'the scripted demo model does not compute its script') {
    super(message);
    this.name = 'DemoModelSelfCheckError';
  }
}

// ---------------------------------------------------------------- deterministic PRNG

/** FNV-1a over UTF-16 code units: a stable 32-bit seed per tensor name. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** mulberry32: a tiny 32-bit PRNG; uniform floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- vocabulary

/** GPT-2's `bytes_to_unicode`: each byte as a printable character. */
const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const chars: string[] = new Array<string>(256);
  for (const b of printable) chars[b] = String.fromCodePoint(b);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    if (chars[b] === undefined) chars[b] = String.fromCodePoint(256 + shifted++);
  }
  return chars;
})();

const utf8 = new TextEncoder();

/** Text in the tokenizer's byte-level alphabet (`' I'` → `'ĠI'`). */
function byteLevel(text: string): string {
  let out = '';
  for (const byte of utf8.encode(text)) out += BYTE_TO_CHAR[byte];
  return out;
}

/** Words that get BPE merges, so the scripted reply is one token per word. */
const MERGED_WORDS = [
  'Hello',
  ' I',
  ' am',
  ' a',
  ' tiny',
  ' test',
  ' model',
  ' the',
  ' hello',
  ' world',
  'user',
  'assistant',
  'system',
  '\n\n',
];

const TOKEN_TYPE_NORMAL = 1;
const TOKEN_TYPE_CONTROL = 3;

interface Vocabulary {
  tokens: string[];
  types: number[];
  merges: string[];
  idOf: Map<string, number>;
  bos: number;
  imStart: number;
  imEnd: number;
}

function buildVocabulary(): Vocabulary {
  const tokens: string[] = [];
  const types: number[] = [];
  const idOf = new Map<string, number>();
  const add = (token: string, type = TOKEN_TYPE_NORMAL): number => {
    const known = idOf.get(token);
    if (known !== undefined) return known;
    idOf.set(token, tokens.length);
    tokens.push(token);
    types.push(type);
    return tokens.length - 1;
  };
  for (const char of BYTE_TO_CHAR) add(char); // ids 0..255: the raw bytes

  // Left-to-right prefix merges: "H e", "He l", "Hel l", "Hell o"; each result is a token.
  const merges: string[] = [];
  const seen = new Set<string>();
  for (const word of MERGED_WORDS) {
    const chars = [...byteLevel(word)];
    let left = chars[0] ?? '';
    for (const char of chars.slice(1)) {
      const merge = `${left} ${char}`;
      if (!seen.has(merge)) {
        seen.add(merge);
        merges.push(merge);
      }
      left += char;
      add(left);
    }
  }
  const bos = add('<|endoftext|>', TOKEN_TYPE_CONTROL);
  const imStart = add('<|im_start|>', TOKEN_TYPE_CONTROL);
  const imEnd = add('<|im_end|>', TOKEN_TYPE_CONTROL);
  return { tokens, types, merges, idOf, bos, imStart, imEnd };
}

const CHAT_TEMPLATE =
  '{% for message in messages %}' +
  "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}" +
  '{% endfor %}' +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// ---------------------------------------------------------------- the bigram script

/** The scripted reply, token by token; `\n` (end of the ChatML generation prompt) starts it. */
const REPLY_WORDS = ['\n', 'Hello', '!', ' I', ' am', ' a', ' tiny', ' test', ' model', '.'];

/**
 * `next[c]` is the token the scripted model predicts after token `c`.
 * `runnerUp` holds deliberate second choices (weaker logits): after `\n` the model's
 * second choice is `{`, so a JSON grammar that forbids `Hello` gets `{`, then `}`, then EOS.
 */
function buildScript(
  vocab: Vocabulary,
  endless = false,
): { next: Int32Array; runnerUp: Map<number, number> } {
  const id = (text: string): number => {
    const found = vocab.idOf.get(byteLevel(text));
    if (found === undefined)
      throw new DemoModelSelfCheckError(`no token for ${JSON.stringify(text)}`);
    return found;
  };
  const n = vocab.tokens.length;
  const next = new Int32Array(n);
  for (let c = 0; c < n; c++) next[c] = c; // default: repeat yourself
  const a = 'a'.charCodeAt(0);
  const zero = '0'.charCodeAt(0);
  for (let i = 0; i < 26; i++) next[a + i] = a + ((i + 1) % 26);
  for (let i = 0; i < 10; i++) next[zero + i] = zero + ((i + 1) % 10);
  const reply = REPLY_WORDS.map(id);
  for (let i = 0; i + 1 < reply.length; i++) next[reply[i]!] = reply[i + 1]!;
  // The endless variant loops from the final '.' back to ' I' instead of ending.
  next[reply[reply.length - 1]!] = endless ? id(' I') : vocab.imEnd;
  next[vocab.imEnd] = vocab.imEnd;
  next[id('{')] = id('}');
  next[id('}')] = vocab.imEnd;
  return { next, runnerUp: new Map([[id('\n'), id('{')]]) };
}

// ---------------------------------------------------------------- tensors

interface Tensor {
  name: string;
  /** ggml `ne` order: `dims[0]` is the contiguous row length. */
  dims: number[];
  data: Float32Array;
}

/** Scale of the scripted logits: the winner's logit is about `OUT_SCALE * sqrt(n_embd)`. */
const OUT_SCALE = 6;
/** Relative strength of a runner-up choice (between the winner and the noise). */
const RUNNER_UP_SCALE = 0.5;
const RMS_EPS = 1e-5;

function count(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

interface Shape {
  seed: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  nCtx: number;
}

function resolveShape(options: DemoGgufOptions): Shape {
  const shape: Shape = {
    seed: (options.seed ?? DEMO_MODEL_SEED) >>> 0,
    nEmbd: options.embeddingLength ?? 128,
    nLayer: options.blockCount ?? 2,
    nHead: options.headCount ?? 4,
    nHeadKv: options.headCountKv ?? options.headCount ?? 4,
    nFf: options.feedForwardLength ?? 256,
    nCtx: options.contextLength ?? DEMO_CONTEXT_LENGTH,
  };
  const headDim = shape.nEmbd / shape.nHead;
  // llama.cpp requires rope.dimension_count == head_dim for arch llama, and RoPE pairs dims.
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new RangeError('embeddingLength / headCount must be an even integer');
  }
  if (shape.nHead % shape.nHeadKv !== 0) {
    throw new RangeError('headCount must be a multiple of headCountKv');
  }
  for (const [key, value] of Object.entries(shape)) {
    if (key !== 'seed' && (!Number.isInteger(value) || value < 1)) {
      throw new RangeError(`${key} must be a positive integer`);
    }
  }
  return shape;
}

function buildTensors(
  variant: DemoModelVariant,
  shape: Shape,
  vocab: Vocabulary,
  script: { next: Int32Array; runnerUp: Map<number, number> } | undefined,
): Tensor[] {
  const { nEmbd, nFf, nLayer } = shape;
  const nVocab = vocab.tokens.length;
  const kvDim = (nEmbd / shape.nHead) * shape.nHeadKv;
  const tensors: Tensor[] = [];
  const random = (name: string, dims: number[], scale: number): Float32Array => {
    const data = new Float32Array(count(dims));
    const rng = mulberry32((fnv1a(name) ^ shape.seed) >>> 0);
    for (let i = 0; i < data.length; i++) data[i] = (rng() * 2 - 1) * scale;
    tensors.push({ name, dims, data });
    return data;
  };
  const constant = (name: string, dims: number[], value: number): void => {
    tensors.push({ name, dims, data: new Float32Array(count(dims)).fill(value) });
  };
  const invSqrtEmbd = 1 / Math.sqrt(nEmbd);

  const embd = random('token_embd.weight', [nEmbd, nVocab], 1);
  constant('output_norm.weight', [nEmbd], 1);
  if (script) {
    // Unit-length embeddings; then output row v = OUT_SCALE * Σ embd[c] over {c : next(c) = v},
    // so logits(c) = output · rmsnorm(embd[c]) peak at next(c).
    for (let v = 0; v < nVocab; v++) {
      const row = embd.subarray(v * nEmbd, (v + 1) * nEmbd);
      let sumSq = 0;
      for (let k = 0; k < nEmbd; k++) sumSq += row[k]! * row[k]!;
      const norm = Math.sqrt(sumSq);
      for (let k = 0; k < nEmbd; k++) row[k] = row[k]! / norm;
    }
    const out = new Float32Array(nEmbd * nVocab);
    const addRow = (target: number, source: number, scale: number): void => {
      for (let k = 0; k < nEmbd; k++) {
        out[target * nEmbd + k] = out[target * nEmbd + k]! + scale * embd[source * nEmbd + k]!;
      }
    };
    for (let c = 0; c < nVocab; c++) addRow(script.next[c]!, c, OUT_SCALE);
    for (const [c, v] of script.runnerUp) addRow(v, c, OUT_SCALE * RUNNER_UP_SCALE);
    tensors.push({ name: 'output.weight', dims: [nEmbd, nVocab], data: out });
  } else {
    random('output.weight', [nEmbd, nVocab], invSqrtEmbd);
  }

  for (let l = 0; l < nLayer; l++) {
    const p = `blk.${l}.`;
    constant(`${p}attn_norm.weight`, [nEmbd], 1);
    random(`${p}attn_q.weight`, [nEmbd, nEmbd], invSqrtEmbd);
    random(`${p}attn_k.weight`, [nEmbd, kvDim], invSqrtEmbd);
    random(`${p}attn_v.weight`, [nEmbd, kvDim], invSqrtEmbd);
    // Scripted: zero output projections, so each block adds nothing to the residual stream.
    if (variant !== 'random') constant(`${p}attn_output.weight`, [nEmbd, nEmbd], 0);
    else random(`${p}attn_output.weight`, [nEmbd, nEmbd], invSqrtEmbd);
    constant(`${p}ffn_norm.weight`, [nEmbd], 1);
    random(`${p}ffn_gate.weight`, [nEmbd, nFf], invSqrtEmbd);
    if (variant !== 'random') constant(`${p}ffn_down.weight`, [nFf, nEmbd], 0);
    else random(`${p}ffn_down.weight`, [nFf, nEmbd], 1 / Math.sqrt(nFf));
    random(`${p}ffn_up.weight`, [nEmbd, nFf], invSqrtEmbd);
  }
  return tensors;
}

/**
 * Check the scripted bigram program the way llama.cpp will compute it: with zeroed block
 * outputs the final hidden state is `embd[c]`, so `logits = output · rmsnorm(embd[c])`.
 * For every token, the argmax must be `next[c]`, and each runner-up must be second.
 */
function checkScript(
  tensors: readonly Tensor[],
  nEmbd: number,
  nVocab: number,
  script: { next: Int32Array; runnerUp: Map<number, number> },
): ScriptSelfCheck {
  const find = (name: string): Float32Array => {
    const tensor = tensors.find((t) => t.name === name);
    if (!tensor) throw new DemoModelSelfCheckError(`missing tensor ${name}`);
    return tensor.data;
  };
  const embd = find('token_embd.weight');
  const out = find('output.weight');
  const normed = new Float64Array(nEmbd);
  let minMargin = Infinity;
  for (let c = 0; c < nVocab; c++) {
    let sumSq = 0;
    for (let k = 0; k < nEmbd; k++) sumSq += embd[c * nEmbd + k]! * embd[c * nEmbd + k]!;
    const rms = Math.sqrt(sumSq / nEmbd + RMS_EPS);
    for (let k = 0; k < nEmbd; k++) normed[k] = embd[c * nEmbd + k]! / rms;
    let best = -1;
    let second = -1;
    let bestLogit = -Infinity;
    let secondLogit = -Infinity;
    for (let v = 0; v < nVocab; v++) {
      let logit = 0;
      for (let k = 0; k < nEmbd; k++) logit += out[v * nEmbd + k]! * normed[k]!;
      if (logit > bestLogit) {
        second = best;
        secondLogit = bestLogit;
        best = v;
        bestLogit = logit;
      } else if (logit > secondLogit) {
        second = v;
        secondLogit = logit;
      }
    }
    if (best !== script.next[c]) {
      throw new DemoModelSelfCheckError(
        `scripted self-check failed for token ${c}: argmax ${best}, script says ${script.next[c]}`,
      );
    }
    const wantSecond = script.runnerUp.get(c);
    if (wantSecond !== undefined && second !== wantSecond) {
      throw new DemoModelSelfCheckError(
        `scripted self-check failed for token ${c}: runner-up ${second}, script says ${wantSecond}`,
      );
    }
    minMargin = Math.min(minMargin, bestLogit - secondLogit);
  }
  return { tokens: nVocab, minMargin };
}

// ---------------------------------------------------------------- GGUF writer

const GGUF_MAGIC = 'GGUF';
const GGUF_VERSION = 3;
const ALIGNMENT = 32;
const GGML_TYPE_F32 = 0;
/** `general.file_type` for "all tensors F32". */
const FILE_TYPE_ALL_F32 = 0;

/** GGUF metadata value types (the subset the demo models use). */
const ValueType = {
  Uint32: 4,
  Int32: 5,
  Float32: 6,
  Bool: 7,
  String: 8,
  Array: 9,
} as const;
type ValueType = (typeof ValueType)[keyof typeof ValueType];

type Scalar =
  | { type: typeof ValueType.Uint32; value: number }
  | { type: typeof ValueType.Int32; value: number }
  | { type: typeof ValueType.Float32; value: number }
  | { type: typeof ValueType.Bool; value: boolean }
  | { type: typeof ValueType.String; value: string };

type MetadataValue =
  | Scalar
  | { type: typeof ValueType.Array; of: typeof ValueType.String; items: readonly string[] }
  | { type: typeof ValueType.Array; of: typeof ValueType.Int32; items: readonly number[] };

/** A growable little-endian byte buffer. */
class ByteWriter {
  private buffer = new Uint8Array(1 << 20);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private reserve(bytes: number): number {
    const offset = this.length;
    const needed = offset + bytes;
    if (needed > this.buffer.length) {
      let size = this.buffer.length;
      while (size < needed) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length = needed;
    return offset;
  }

  u8(value: number): void {
    this.view.setUint8(this.reserve(1), value);
  }
  u32(value: number): void {
    this.view.setUint32(this.reserve(4), value, true);
  }
  i32(value: number): void {
    this.view.setInt32(this.reserve(4), value, true);
  }
  u64(value: number): void {
    this.view.setBigUint64(this.reserve(8), BigInt(value), true);
  }
  f32(value: number): void {
    this.view.setFloat32(this.reserve(4), value, true);
  }
  bytes(data: Uint8Array): void {
    this.buffer.set(data, this.reserve(data.length));
  }
  /** GGUF string: u64 byte length, then UTF-8 bytes (no terminator). */
  string(text: string): void {
    const data = utf8.encode(text);
    this.u64(data.length);
    this.bytes(data);
  }
  floats(data: Float32Array): void {
    const offset = this.reserve(data.length * 4);
    for (let i = 0; i < data.length; i++) this.view.setFloat32(offset + i * 4, data[i]!, true);
  }
  /** Zero bytes up to the next multiple of `alignment`. */
  align(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.reserve(pad); // the buffer is zero-filled and never written twice
  }
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

function writeScalar(out: ByteWriter, value: Scalar): void {
  switch (value.type) {
    case ValueType.Uint32:
      return out.u32(value.value);
    case ValueType.Int32:
      return out.i32(value.value);
    case ValueType.Float32:
      return out.f32(value.value);
    case ValueType.Bool:
      return out.u8(value.value ? 1 : 0);
    case ValueType.String:
      return out.string(value.value);
  }
}

function writeGguf(
  metadata: ReadonlyArray<[string, MetadataValue]>,
  tensors: Tensor[],
): Uint8Array {
  const out = new ByteWriter();
  out.bytes(utf8.encode(GGUF_MAGIC));
  out.u32(GGUF_VERSION);
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, value] of metadata) {
    out.string(key);
    out.u32(value.type);
    if (value.type === ValueType.Array) {
      out.u32(value.of);
      out.u64(value.items.length);
      if (value.of === ValueType.String) for (const item of value.items) out.string(item);
      else for (const item of value.items) out.i32(item);
    } else {
      writeScalar(out, value);
    }
  }
  // Tensor infos: offsets are relative to the (aligned) start of the data section.
  const offsets: number[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(dim);
    out.u32(GGML_TYPE_F32);
    out.u64(offset);
    offsets.push(offset);
    offset += Math.ceil((tensor.data.length * 4) / ALIGNMENT) * ALIGNMENT;
  }
  out.align(ALIGNMENT);
  const dataStart = out.length;
  tensors.forEach((tensor, i) => {
    if (out.length - dataStart !== offsets[i]) throw new Error('GGUF tensor offset mismatch');
    out.floats(tensor.data);
    out.align(ALIGNMENT);
  });
  return out.finish();
}

// ---------------------------------------------------------------- public API

/**
 * Build a demo model in memory. Pure and deterministic: the same variant and options
 * always give the same bytes (see {@link DEMO_MODEL_SHA256}). The scripted variant
 * checks its own bigram program and throws {@link DemoModelSelfCheckError} if it is off.
 *
 * @example
 * ```ts
 * const { bytes, sha256 } = generateDemoGguf('scripted');
 * await writeFile('demo.gguf', bytes);
 * ```
 */
export function generateDemoGguf(
  variant: DemoModelVariant = 'scripted',
  options: DemoGgufOptions = {},
): DemoGguf {
  if (variant !== 'scripted' && variant !== 'endless' && variant !== 'random') {
    throw new RangeError(`unknown demo model variant ${JSON.stringify(variant)}`);
  }
  const shape = resolveShape(options);
  const vocab = buildVocabulary();
  const nVocab = vocab.tokens.length;
  const script = variant !== 'random' ? buildScript(vocab, variant === 'endless') : undefined;
  const tensors = buildTensors(variant, shape, vocab, script);
  const selfCheck = script ? checkScript(tensors, shape.nEmbd, nVocab, script) : undefined;

  const u32 = (value: number): MetadataValue => ({ type: ValueType.Uint32, value });
  const f32 = (value: number): MetadataValue => ({ type: ValueType.Float32, value });
  const str = (value: string): MetadataValue => ({ type: ValueType.String, value });
  const metadata: Array<[string, MetadataValue]> = [
    ['general.architecture', str('llama')],
    ['general.name', str(`tokenplace-demo-${variant}`)],
    ['general.file_type', u32(FILE_TYPE_ALL_F32)],
    ['general.alignment', u32(ALIGNMENT)],
    ['llama.vocab_size', u32(nVocab)],
    ['llama.context_length', u32(shape.nCtx)],
    ['llama.embedding_length', u32(shape.nEmbd)],
    ['llama.block_count', u32(shape.nLayer)],
    ['llama.feed_forward_length', u32(shape.nFf)],
    ['llama.rope.dimension_count', u32(shape.nEmbd / shape.nHead)],
    ['llama.rope.freq_base', f32(10000)],
    ['llama.attention.head_count', u32(shape.nHead)],
    ['llama.attention.head_count_kv', u32(shape.nHeadKv)],
    ['llama.attention.layer_norm_rms_epsilon', f32(RMS_EPS)],
    ['tokenizer.ggml.model', str('gpt2')],
    ['tokenizer.ggml.pre', str('gpt-2')],
    ['tokenizer.ggml.tokens', { type: ValueType.Array, of: ValueType.String, items: vocab.tokens }],
    [
      'tokenizer.ggml.token_type',
      { type: ValueType.Array, of: ValueType.Int32, items: vocab.types },
    ],
    ['tokenizer.ggml.merges', { type: ValueType.Array, of: ValueType.String, items: vocab.merges }],
    ['tokenizer.ggml.bos_token_id', u32(vocab.bos)],
    ['tokenizer.ggml.eos_token_id', u32(vocab.imEnd)],
    ['tokenizer.ggml.padding_token_id', u32(vocab.bos)],
    ['tokenizer.ggml.add_bos_token', { type: ValueType.Bool, value: false }],
    ['tokenizer.chat_template', str(CHAT_TEMPLATE)],
  ];
  const bytes = writeGguf(metadata, tensors);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const parameters = tensors.reduce((sum, t) => sum + t.data.length, 0);
  return { variant, bytes, sha256, parameters, ...(selfCheck ? { selfCheck } : {}) };
}
