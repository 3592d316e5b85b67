/**
 * What a node says about the model it serves (the `model` part of its signed model
 * card), read from the GGUF header with node-llama-cpp's `readGgufFileInfo`, plus the
 * file's SHA-256.
 *
 * Hashing a multi-gigabyte GGUF takes seconds, so the hash is computed streaming and
 * cached next to the file (`<file>.sha256.json`, keyed by size + mtime); where that
 * folder is read-only, in a fallback cache folder. A restart with an unchanged file reads
 * the cache instead of the file.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve as resolvePath } from 'node:path';
import { logger } from '@libp2p/logger';
import { GgmlType, GgufFileType, readGgufFileInfo } from 'node-llama-cpp';
import type { GgufFileInfo } from 'node-llama-cpp';
import { ModelId } from '../../protocol/messages.js';
import type { ModelInfo } from '../../protocol/messages.js';
import { ModelLoadError, ModelNotFoundError } from './errors.js';

const log = logger('tokenplace:node:models');

/** The model part of a signed model card (`protocol/` `ModelInfo`). */
export type ModelMetadata = ModelInfo;

/** First four bytes of every GGUF file. */
export const GGUF_MAGIC = 'GGUF';

/** Suffix of the hash cache file written next to a model. */
export const HASH_CACHE_SUFFIX = '.sha256.json';

const HASH_CHUNK_BYTES = 4 * 1024 * 1024;

// ---------------------------------------------------------------- model ids

const MAX_MODEL_ID_LENGTH = 128;

/**
 * A model id from a file name: lowercase, `.gguf` dropped, characters outside the
 * protocol's model-id alphabet replaced by `-`.
 *
 * @example
 * ```ts
 * modelIdFromFileName('/models/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf'); // 'qwen2.5-0.5b-instruct-q4_k_m'
 * ```
 */
export function modelIdFromFileName(fileName: string): string {
  const id = basename(fileName)
    .replace(/\.gguf$/i, '')
    .toLowerCase()
    .replace(/[^a-z0-9._:/@+-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, MAX_MODEL_ID_LENGTH);
  return id === '' ? 'model' : id;
}

/** Throws a RangeError unless `id` is a valid protocol model id. */
export function assertModelId(id: string): string {
  const result = ModelId.safeParse(id);
  if (!result.success) {
    throw new RangeError(
      `invalid model id ${JSON.stringify(id)}: use 1–128 letters, digits and ._:/@+- (starting with a letter or digit)`,
    );
  }
  return id;
}

// ---------------------------------------------------------------- GGUF checks

/**
 * Check that `path` exists, is a regular file and starts with the GGUF magic. Throws
 * {@link ModelNotFoundError} (missing, or not a file) or {@link ModelLoadError} (not GGUF).
 */
export async function assertGgufFile(path: string, model: string = path): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? String(err)})`;
    throw new ModelNotFoundError(
      `model file ${path}: ${why}. Pass --model with the path of a .gguf file, an hf:<owner>/<repo>/<file>.gguf URI, or "demo".`,
      model,
      { cause: err },
    );
  }
  if (!info.isFile()) {
    throw new ModelNotFoundError(
      `model path ${path} is ${info.isDirectory() ? 'a directory' : 'not a regular file'}; pass the path of the .gguf file itself`,
      model,
    );
  }
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    const magic = new TextDecoder('latin1').decode(head.subarray(0, bytesRead));
    if (magic !== GGUF_MAGIC) {
      throw new ModelLoadError(
        `${path} is not a GGUF model file: it starts with ${JSON.stringify(magic)} instead of "GGUF" (${info.size} bytes). token.place loads llama.cpp GGUF files only.`,
        path,
      );
    }
  } finally {
    await handle.close();
  }
}

/** Bytes per block and elements per block of the common ggml tensor types. */
const GGML_BLOCK: ReadonlyMap<number, readonly [elements: number, bytes: number]> = new Map(
  (
    [
      ['F32', 1, 4],
      ['F16', 1, 2],
      ['BF16', 1, 2],
      ['F64', 1, 8],
      ['I8', 1, 1],
      ['I16', 1, 2],
      ['I32', 1, 4],
      ['I64', 1, 8],
      ['Q4_0', 32, 18],
      ['Q4_1', 32, 20],
      ['Q5_0', 32, 22],
      ['Q5_1', 32, 24],
      ['Q8_0', 32, 34],
      ['Q2_K', 256, 84],
      ['Q3_K', 256, 110],
      ['Q4_K', 256, 144],
      ['Q5_K', 256, 176],
      ['Q6_K', 256, 210],
      ['Q8_K', 256, 292],
    ] as const
  ).map(([name, elements, bytes]) => [GgmlType[name], [elements, bytes]] as const),
);

/**
 * Where a GGUF file's tensor data must end, from its header. `undefined` when the header
 * names only tensor types this table does not size.
 */
export function requiredGgufBytes(info: GgufFileInfo): number | undefined {
  let required = 0;
  let sized = false;
  for (const tensor of info.fullTensorInfo ?? info.tensorInfo ?? []) {
    const start = Number(tensor.fileOffset);
    const block = GGML_BLOCK.get(tensor.ggmlType);
    if (!block) {
      required = Math.max(required, start + 1);
      continue;
    }
    const elements = tensor.dimensions.reduce<number>((n, d) => n * Number(d), 1);
    required = Math.max(required, start + Math.ceil(elements / block[0]) * block[1]);
    sized = true;
  }
  return sized || required > 0 ? required : undefined;
}

/**
 * A short diagnosis of a GGUF file llama.cpp refused: is it shorter than its own header
 * says? Returns `undefined` when the sizes add up (or the header cannot be read).
 */
export async function diagnoseTruncation(path: string): Promise<string | undefined> {
  try {
    const [info, { size }] = await Promise.all([
      readGgufFileInfo(path, { logWarnings: false, sourceType: 'filesystem' }),
      stat(path),
    ]);
    const required = requiredGgufBytes(info);
    if (required !== undefined && required > size) {
      return `the file has ${size} bytes but its header needs at least ${required}: it is truncated (an interrupted download?) or corrupt`;
    }
  } catch (err) {
    return `its GGUF header cannot be read (${(err as Error).message})`;
  }
  return undefined;
}

// ---------------------------------------------------------------- shape (for memory estimates)

/** What a memory estimate needs to know about a model, from its GGUF header. */
export interface ModelShape {
  /** Size of the GGUF file: llama.cpp maps it into memory, and inference reads all of it. */
  fileBytes: number;
  /** Transformer blocks. */
  layers: number;
  /**
   * Elements of the K and V caches per token, summed over the layers:
   * `Σ head_count_kv × (key_length + value_length)`.
   */
  kvElementsPerToken: number;
  /** Attention heads (query). */
  headCount: number;
  /** Embedding width. */
  embeddingLength: number;
  /** Tokens in the vocabulary. */
  vocabularySize: number;
  /** Context the model was trained on; 0 when the header does not say. */
  trainedContext: number;
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

/**
 * A model's shape from its parsed GGUF header. Fields the header leaves out fall back to
 * llama.cpp's own defaults (`head_count_kv` = `head_count`, `key_length` = `value_length`
 * = `embedding_length / head_count`).
 */
export function modelShapeFromGguf(info: GgufFileInfo, fileBytes: number): ModelShape {
  const arch = info.architectureMetadata as {
    block_count?: number;
    embedding_length?: number;
    vocab_size?: number;
    context_length?: number;
    attention?: {
      head_count?: number | number[];
      head_count_kv?: number | number[];
      key_length?: number;
      value_length?: number;
    };
  };
  const layers = positive(arch.block_count) ?? 0;
  const embeddingLength = positive(arch.embedding_length) ?? 0;
  const headsOf = (value: number | number[] | undefined, layer: number): number | undefined =>
    Array.isArray(value) ? positive(value[layer]) : positive(value);
  const headCount = headsOf(arch.attention?.head_count, 0) ?? 1;
  const headDim = embeddingLength > 0 ? embeddingLength / headCount : 0;
  const keyLength = positive(arch.attention?.key_length) ?? headDim;
  const valueLength = positive(arch.attention?.value_length) ?? headDim;
  let kvElementsPerToken = 0;
  for (let layer = 0; layer < layers; layer++) {
    const kvHeads =
      headsOf(arch.attention?.head_count_kv, layer) ??
      headsOf(arch.attention?.head_count, layer) ??
      headCount;
    kvElementsPerToken += kvHeads * (keyLength + valueLength);
  }
  const tokens = (info.metadata as { tokenizer?: { ggml?: { tokens?: readonly unknown[] } } })
    .tokenizer?.ggml?.tokens;
  return {
    fileBytes,
    layers,
    kvElementsPerToken: Math.round(kvElementsPerToken),
    headCount,
    embeddingLength,
    vocabularySize: positive(arch.vocab_size) ?? tokens?.length ?? 0,
    trainedContext: positive(arch.context_length) ?? 0,
  };
}

/** Read a GGUF file's header and size: its {@link ModelShape}. Throws `ModelLoadError`. */
export async function readModelShape(
  path: string,
  { signal }: { signal?: AbortSignal } = {},
): Promise<ModelShape> {
  try {
    const [info, { size }] = await Promise.all([
      readGgufFileInfo(path, {
        sourceType: 'filesystem',
        logWarnings: false,
        ...(signal ? { signal } : {}),
      }),
      stat(path),
    ]);
    return modelShapeFromGguf(info, size);
  } catch (err) {
    signal?.throwIfAborted();
    throw new ModelLoadError(
      `cannot read the GGUF header of ${path}: ${(err as Error).message}`,
      path,
      { cause: err },
    );
  }
}

// ---------------------------------------------------------------- hashing

interface HashCacheEntry {
  size: number;
  mtimeMs: number;
  sha256: string;
}

export interface Sha256FileOptions {
  signal?: AbortSignal;
  /**
   * Where to cache the hash when the model's own folder is not writable.
   * @default no fallback (the hash is recomputed on the next start)
   */
  fallbackCacheDir?: string;
}

function cachePaths(path: string, fallbackCacheDir: string | undefined): string[] {
  const absolute = resolvePath(path);
  const paths = [`${absolute}${HASH_CACHE_SUFFIX}`];
  if (fallbackCacheDir) {
    const key = createHash('sha256').update(absolute).digest('hex').slice(0, 32);
    paths.push(join(fallbackCacheDir, `${key}.json`));
  }
  return paths;
}

async function readHashCache(file: string): Promise<HashCacheEntry | undefined> {
  try {
    const entry = JSON.parse(await readFile(file, 'utf8')) as Partial<HashCacheEntry>;
    if (
      typeof entry.size === 'number' &&
      typeof entry.mtimeMs === 'number' &&
      typeof entry.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(entry.sha256)
    ) {
      return entry as HashCacheEntry;
    }
  } catch {
    // missing or unreadable: no cache
  }
  return undefined;
}

async function writeHashCache(file: string, entry: HashCacheEntry): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(entry)}\n`);
  await rename(tmp, file);
}

/**
 * SHA-256 of a file, hex, read in 4 MiB chunks. Cached next to the file keyed by size and
 * mtime, so an unchanged multi-gigabyte model is not re-read on every start.
 */
export async function sha256File(path: string, options: Sha256FileOptions = {}): Promise<string> {
  const { signal } = options;
  signal?.throwIfAborted();
  const info = await stat(path);
  const paths = cachePaths(path, options.fallbackCacheDir);
  for (const file of paths) {
    const cached = await readHashCache(file);
    if (cached && cached.size === info.size && cached.mtimeMs === info.mtimeMs) {
      log('sha256 of %s from cache %s', path, file);
      return cached.sha256;
    }
  }
  const started = performance.now();
  const hash = createHash('sha256');
  const stream = createReadStream(path, { highWaterMark: HASH_CHUNK_BYTES });
  try {
    for await (const chunk of stream) {
      signal?.throwIfAborted();
      hash.update(chunk as Buffer);
    }
  } finally {
    stream.destroy();
  }
  const sha256 = hash.digest('hex');
  log('sha256 of %s (%d bytes) in %d ms', path, info.size, Math.round(performance.now() - started));
  const entry: HashCacheEntry = { size: info.size, mtimeMs: info.mtimeMs, sha256 };
  for (const file of paths) {
    try {
      if (file !== paths[0]) await mkdir(join(file, '..'), { recursive: true });
      await writeHashCache(file, entry);
      break;
    } catch (err) {
      log('cannot cache sha256 at %s: %s', file, (err as Error).message);
    }
  }
  return sha256;
}

// ---------------------------------------------------------------- metadata

export interface ReadModelMetadataOptions {
  /** The model id to report. @default derived from the file name ({@link modelIdFromFileName}) */
  id?: string;
  /** A SHA-256 already known for this exact file (the built-in models); skips hashing. */
  sha256?: string;
  /** Fallback folder for the hash cache (see {@link sha256File}). */
  hashCacheDir?: string;
  signal?: AbortSignal;
}

/** llama.cpp's name for a GGUF file type: `MOSTLY_Q4_K_M` → `Q4_K_M`, `ALL_F32` → `F32`. */
function quantizationName(info: GgufFileInfo): string {
  const fileType = info.metadata.general?.file_type;
  const name =
    fileType === undefined ? undefined : (GgufFileType as Record<number, string>)[fileType];
  if (name) return name.replace(/^(MOSTLY|ALL)_/, '');
  // No file_type: name the most common tensor type instead.
  const counts = new Map<number, number>();
  for (const tensor of info.fullTensorInfo ?? info.tensorInfo ?? []) {
    counts.set(tensor.ggmlType, (counts.get(tensor.ggmlType) ?? 0) + 1);
  }
  const dominant = [...counts].sort((a, b) => b[1] - a[1])[0];
  return dominant ? ((GgmlType as Record<number, string>)[dominant[0]] ?? 'unknown') : 'unknown';
}

/**
 * Read the card metadata of a local GGUF file: `{ id, family, parameters, quantization,
 * contextLength, ggufSha256 }`. `family` is the GGUF architecture (`llama`, `qwen2`, …);
 * `parameters` counts every tensor element.
 *
 * @example
 * ```ts
 * const meta = await readModelMetadata('/models/qwen2.5-0.5b-instruct-q4_k_m.gguf');
 * // { id: 'qwen2.5-0.5b-instruct-q4_k_m', family: 'qwen2', quantization: 'Q4_K_M', ... }
 * ```
 */
export async function readModelMetadata(
  path: string,
  options: ReadModelMetadataOptions = {},
): Promise<ModelMetadata> {
  const id = assertModelId(options.id ?? modelIdFromFileName(path));
  let info: GgufFileInfo;
  try {
    info = await readGgufFileInfo(path, {
      sourceType: 'filesystem',
      logWarnings: false,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    options.signal?.throwIfAborted();
    throw new ModelLoadError(
      `cannot read the GGUF header of ${path}: ${(err as Error).message}`,
      path,
      { cause: err },
    );
  }
  const tensors = info.fullTensorInfo ?? info.tensorInfo ?? [];
  let parameters = 0n;
  for (const tensor of tensors) {
    parameters += tensor.dimensions.reduce<bigint>((n, d) => n * BigInt(d), 1n);
  }
  const contextLength = info.architectureMetadata.context_length;
  const ggufSha256 =
    options.sha256 ??
    (await sha256File(path, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.hashCacheDir ? { fallbackCacheDir: options.hashCacheDir } : {}),
    }));
  return {
    id,
    family: String(info.metadata.general?.architecture ?? 'unknown').slice(0, 64),
    parameters: Number(parameters),
    quantization: quantizationName(info).slice(0, 32),
    contextLength: typeof contextLength === 'number' && contextLength > 0 ? contextLength : 0,
    ggufSha256,
  };
}
