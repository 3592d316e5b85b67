/**
 * Turns a `--model` value into a local GGUF file.
 *
 * | value | resolves to |
 * | --- | --- |
 * | `demo` (default) | the scripted built-in model, written on first use to `<dataDir>/models/` |
 * | `demo-endless` | the scripted model with a never-ending reply (Stop/abort journeys) |
 * | `demo-random` | the random-weights built-in model (load tests) |
 * | `/path/file.gguf`, `./file.gguf`, `~/file.gguf` | that file: it must exist, be a file and start with `GGUF` |
 * | `hf:<owner>/<repo>/<path>/<file>.gguf[#branch]` | a Hugging Face file, cached in `<dataDir>/models/` |
 * | `hf:<owner>/<repo>:<QUANT>` | the repo's GGUF file for that quantization (node-llama-cpp resolves it through the Hub's manifest API) |
 *
 * A remote model is looked up in the cache first with no network at all. Only when it is
 * missing does a 5-second `HEAD` preflight run; node-llama-cpp's downloader retries an
 * unreachable host for about 12 minutes and ignores `signal` meanwhile, so without the
 * preflight an offline node would hang. Only after the preflight succeeds does the
 * download start.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, resolve as resolvePath } from 'node:path';
import { logger } from '@libp2p/logger';
import { resolveModelFile } from 'node-llama-cpp';
import { DEMO_MODEL_SHA256, generateDemoGguf } from './demo-gguf.js';
import type { DemoModelVariant } from './demo-gguf.js';
import { untilAborted } from '../../protocol/timers.js';
import { ModelNotFoundError, OfflineModelError } from './errors.js';
import { assertGgufFile, modelIdFromFileName, readModelMetadata } from './metadata.js';
import type { ModelMetadata, ReadModelMetadataOptions } from './metadata.js';

export { readModelMetadata, modelIdFromFileName };
export type { ModelMetadata, ReadModelMetadataOptions };

const log = logger('tokenplace:node:models');

/** The `--model` value used when none is given. */
export const DEFAULT_MODEL = 'demo';

/** The built-in models, by `--model` value. */
export const BUILT_IN_MODELS: Readonly<Record<string, DemoModelVariant>> = Object.freeze({
  demo: 'scripted',
  'demo-endless': 'endless',
  'demo-random': 'random',
});

/** How long the Hugging Face reachability check may take. */
export const HF_PREFLIGHT_TIMEOUT_MS = 5_000;

const DEFAULT_HF_ENDPOINT = 'https://huggingface.co/';

export interface DownloadProgress {
  downloadedBytes: number;
  totalBytes: number;
}

export interface ResolveModelOptions {
  /** The node's data folder; models live in `<dataDir>/models/`. */
  dataDir: string;
  signal?: AbortSignal;
  /** Called while an `hf:` model downloads (the CLI draws the bar). */
  onDownloadProgress?(progress: DownloadProgress): void;
  /**
   * Hugging Face endpoint (a mirror).
   * @default the `HF_ENDPOINT` (or `MODEL_ENDPOINT`) environment variable, else https://huggingface.co
   */
  hfEndpoint?: string;
  /**
   * Hugging Face access token for gated or private repos.
   * @default the `HF_TOKEN` environment variable (node-llama-cpp also reads `~/.cache/huggingface/token`)
   */
  hfToken?: string;
  /** Preflight timeout. @default 5000 */
  preflightTimeoutMs?: number;
}

export interface ResolvedModel {
  /** The `--model` value as given. */
  model: string;
  /** The model id clients use: `demo`, `demo-random`, or derived from the file name. */
  id: string;
  /** Absolute path of the GGUF file. */
  path: string;
  /** A built-in demo model. */
  builtIn: boolean;
  source: 'built-in' | 'file' | 'hf';
  /** SHA-256 of the file when already known (built-in models). */
  sha256?: string;
}

/** `<dataDir>/models`: the demo models and downloaded models. */
export function modelsDir(dataDir: string): string {
  return join(resolvePath(dataDir), 'models');
}

/**
 * Resolve a `--model` value to a local file, writing or downloading it if needed.
 * Throws {@link ModelNotFoundError}, {@link OfflineModelError} or `ModelLoadError`
 * (a file that is not GGUF).
 *
 * @example
 * ```ts
 * const { path, id } = await resolveModel('hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf', {
 *   dataDir: '/var/lib/token.place',
 *   onDownloadProgress: ({ downloadedBytes, totalBytes }) => bar.update(downloadedBytes / totalBytes),
 * });
 * ```
 */
export async function resolveModel(
  model: string = DEFAULT_MODEL,
  options: ResolveModelOptions,
): Promise<ResolvedModel> {
  options.signal?.throwIfAborted();
  const spec = model.trim();
  const variant = BUILT_IN_MODELS[spec];
  if (variant) {
    const { path, sha256 } = await ensureDemoModel(variant, modelsDir(options.dataDir), options);
    return { model: spec, id: spec, path, builtIn: true, source: 'built-in', sha256 };
  }
  if (spec === '') {
    throw new ModelNotFoundError('empty --model value', model);
  }
  if (isHfUri(spec)) return resolveHfModel(spec, options);
  if (/^https?:\/\//i.test(spec)) {
    throw new ModelNotFoundError(
      `plain URLs are not supported as --model (${spec}); use an hf:<owner>/<repo>/<file>.gguf URI, or download the file and pass its path`,
      spec,
    );
  }
  const path = resolvePath(spec.startsWith('~/') ? join(homedir(), spec.slice(2)) : spec);
  await assertGgufFile(path, spec);
  return { model: spec, id: modelIdFromFileName(path), path, builtIn: false, source: 'file' };
}

// ---------------------------------------------------------------- built-in models

async function sha256OfFile(path: string): Promise<string | undefined> {
  try {
    return createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  } catch {
    return undefined;
  }
}

/**
 * Write a demo model to `dir` unless a file with the right SHA-256 is already there.
 * Atomic (temp file + rename), so parallel starts never see a half-written model.
 */
export async function ensureDemoModel(
  variant: DemoModelVariant,
  dir: string,
  { signal }: { signal?: AbortSignal } = {},
): Promise<{ path: string; sha256: string }> {
  const path = join(dir, `demo-${variant}.gguf`);
  const expected = DEMO_MODEL_SHA256[variant];
  if ((await sha256OfFile(path)) === expected) return { path, sha256: expected };
  signal?.throwIfAborted();
  const started = performance.now();
  const gguf = generateDemoGguf(variant);
  if (gguf.sha256 !== expected) {
    // Cannot happen unless the generator changed without its known-answer constant.
    log.error('demo-%s generated with sha256 %s, expected %s', variant, gguf.sha256, expected);
  }
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, gguf.bytes);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  log(
    'wrote %s (%d bytes) in %d ms',
    path,
    gguf.bytes.length,
    Math.round(performance.now() - started),
  );
  return { path, sha256: gguf.sha256 };
}

// ---------------------------------------------------------------- Hugging Face

const HF_PREFIXES = ['hf://', 'huggingface://', 'hf:', 'huggingface:'];

function isHfUri(spec: string): boolean {
  return HF_PREFIXES.some((prefix) => spec.toLowerCase().startsWith(prefix));
}

/** A parsed `hf:` URI. */
export type HfModelRef =
  | {
      kind: 'file';
      /** Normalized `hf:owner/repo/path#branch`. */
      uri: string;
      owner: string;
      repo: string;
      filePath: string;
      branch: string;
      /** The file's download URL on `endpoint`. */
      url: string;
    }
  | {
      kind: 'quant';
      uri: string;
      owner: string;
      repo: string;
      /** Quantization tag, e.g. `Q4_K_M`. */
      tag: string;
      /** The repo's page on `endpoint` (what the preflight checks). */
      url: string;
    };

function normalizeEndpoint(endpoint: string): string {
  return endpoint.endsWith('/') ? endpoint : `${endpoint}/`;
}

/** The Hub endpoint: the option, else `HF_ENDPOINT` / `MODEL_ENDPOINT`, else huggingface.co. */
export function defaultHfEndpoint(): string {
  const fromEnv = process.env.HF_ENDPOINT || process.env.MODEL_ENDPOINT;
  return normalizeEndpoint(
    fromEnv && /^https?:\/\//i.test(fromEnv) ? fromEnv : DEFAULT_HF_ENDPOINT,
  );
}

/**
 * Parse `hf:<owner>/<repo>/<path>.gguf[#branch]` or `hf:<owner>/<repo>:<QUANT>`.
 * Throws {@link ModelNotFoundError} for anything else.
 */
export function parseHfUri(spec: string, endpoint: string = defaultHfEndpoint()): HfModelRef {
  const prefix = HF_PREFIXES.find((p) => spec.toLowerCase().startsWith(p)) ?? 'hf:';
  const body = spec.slice(prefix.length);
  const base = normalizeEndpoint(endpoint);
  const [owner = '', repoPart = '', ...rest] = body.split('/');
  const invalid = (why: string): ModelNotFoundError =>
    new ModelNotFoundError(
      `invalid Hugging Face URI ${JSON.stringify(spec)}: ${why}. Use hf:<owner>/<repo>/<file>.gguf or hf:<owner>/<repo>:<QUANT>`,
      spec,
    );
  if (owner === '' || repoPart === '') throw invalid('owner and repo are required');
  if (rest.length === 0) {
    const [repo = '', tag = ''] = repoPart.split(':');
    if (repo === '' || tag === '') throw invalid('name a .gguf file or a :QUANT tag');
    return {
      kind: 'quant',
      uri: `hf:${owner}/${repo}:${tag.toUpperCase()}`,
      owner,
      repo,
      tag: tag.toUpperCase(),
      url: `${base}${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`,
    };
  }
  let filePath = rest.join('/');
  let branch = 'main';
  const hash = filePath.indexOf('#');
  if (hash >= 0) {
    branch = filePath.slice(hash + 1) || 'main';
    filePath = filePath.slice(0, hash);
  }
  if (!/\.gguf$/i.test(filePath)) throw invalid('the file must be a .gguf file');
  const encodedPath = filePath.split('/').map(encodeURIComponent).join('/');
  return {
    kind: 'file',
    uri: `hf:${owner}/${repoPart}/${filePath}${branch === 'main' ? '' : `#${branch}`}`,
    owner,
    repo: repoPart,
    filePath,
    branch,
    url: `${base}${encodeURIComponent(owner)}/${encodeURIComponent(repoPart)}/resolve/${encodeURIComponent(branch)}/${encodedPath}`,
  };
}

/**
 * The cache file name node-llama-cpp uses, for messages when it does not say (a quant
 * tag resolves to one of several names; this is the first it looks for).
 */
function expectedHfFileName(ref: HfModelRef): string {
  if (ref.kind === 'file') return `hf_${ref.owner}_${ref.repo}_${basename(ref.filePath)}`;
  const ggufRepo = /-gguf$/i.test(ref.repo);
  const base = ggufRepo ? ref.repo.slice(0, -'-gguf'.length) : ref.repo;
  return `hf_${ref.owner}_${ggufRepo ? '' : `${ref.repo}_`}${base}.${ref.tag}.gguf`;
}

function hfModelId(ref: HfModelRef): string {
  if (ref.kind === 'file') return modelIdFromFileName(ref.filePath);
  return modelIdFromFileName(`${ref.repo.replace(/-gguf$/i, '')}-${ref.tag}`);
}

/** Where an `hf:` model is, or would be, in the cache. */
export type CachedHfModel =
  { cached: true; path: string; url: string } | { cached: false; localPath: string; url: string };

/**
 * Look an `hf:` model up in `<dataDir>/models/` with no network at all (what
 * `token.place doctor` reports). Throws {@link ModelNotFoundError} for a malformed URI.
 */
export async function findCachedHfModel(
  spec: string,
  options: Pick<ResolveModelOptions, 'dataDir' | 'hfEndpoint'>,
): Promise<CachedHfModel> {
  const endpoint = normalizeEndpoint(options.hfEndpoint ?? defaultHfEndpoint());
  const ref = parseHfUri(spec, endpoint);
  const directory = modelsDir(options.dataDir);
  try {
    const path = await resolveModelFile(ref.uri, {
      directory,
      download: false,
      cli: false,
      endpoints: { huggingFace: endpoint },
    });
    return { cached: true, path, url: ref.url };
  } catch (err) {
    const where = /No model file found at "([^"]+)"/.exec((err as Error).message)?.[1];
    return {
      cached: false,
      localPath: where ?? join(directory, expectedHfFileName(ref)),
      url: ref.url,
    };
  }
}

/** True for `hf:` (and `huggingface:`) model values. */
export function isHfModel(spec: string): boolean {
  return isHfUri(spec.trim());
}

async function resolveHfModel(spec: string, options: ResolveModelOptions): Promise<ResolvedModel> {
  const endpoint = normalizeEndpoint(options.hfEndpoint ?? defaultHfEndpoint());
  const ref = parseHfUri(spec, endpoint);
  const directory = modelsDir(options.dataDir);
  const endpoints = { huggingFace: endpoint };
  const token = options.hfToken ?? process.env.HF_TOKEN;
  const id = hfModelId(ref);
  const done = async (path: string): Promise<ResolvedModel> => {
    await assertGgufFile(path, spec);
    return { model: spec, id, path, builtIn: false, source: 'hf' };
  };

  // 1. The cache, with no network at all.
  let localPath: string;
  try {
    const cached = await resolveModelFile(ref.uri, {
      directory,
      download: false,
      cli: false,
      endpoints,
    });
    log('%s found in the cache at %s', ref.uri, cached);
    return await done(cached);
  } catch (err) {
    if (err instanceof ModelNotFoundError || (err as Error).name === 'ModelLoadError') throw err;
    // node-llama-cpp says where it looked: `No model file found at "<path>" and download is disabled`.
    const where = /No model file found at "([^"]+)"/.exec((err as Error).message)?.[1];
    localPath = where ?? join(directory, expectedHfFileName(ref));
  }

  // 2. Preflight: is the Hub reachable, and does the file exist?
  const timeout = AbortSignal.timeout(options.preflightTimeoutMs ?? HF_PREFLIGHT_TIMEOUT_MS);
  const preflightSignal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const offlineHint = `It would be stored as ${localPath}. To run offline, copy the .gguf file there, or pass --model /path/file.gguf.`;
  let response: Response;
  try {
    response = await fetch(ref.url, {
      method: 'HEAD',
      redirect: 'follow',
      signal: preflightSignal,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  } catch (err) {
    options.signal?.throwIfAborted();
    const cause = err as Error & { cause?: { code?: string; message?: string } };
    const why = timeout.aborted
      ? `no answer within ${options.preflightTimeoutMs ?? HF_PREFLIGHT_TIMEOUT_MS} ms`
      : (cause.cause?.code ?? cause.cause?.message ?? cause.message);
    throw new OfflineModelError(
      `cannot download ${ref.uri}: ${new URL(ref.url).host} is unreachable (HEAD ${ref.url} failed: ${why}). ${offlineHint}`,
      ref.url,
      localPath,
      { cause: err },
    );
  }
  if (response.status === 404) {
    throw new ModelNotFoundError(
      `${ref.uri} does not exist on ${new URL(ref.url).host} (HTTP 404 for HEAD ${ref.url})`,
      spec,
    );
  }
  if (response.status === 401 || response.status === 403) {
    throw new ModelNotFoundError(
      `${ref.uri} is private or gated (HTTP ${response.status} for HEAD ${ref.url}); accept its license on Hugging Face and set HF_TOKEN`,
      spec,
    );
  }
  if (!response.ok) {
    throw new OfflineModelError(
      `cannot download ${ref.uri}: HEAD ${ref.url} answered HTTP ${response.status}. ${offlineHint}`,
      ref.url,
      localPath,
    );
  }

  // 3. Download.
  log('downloading %s to %s', ref.uri, directory);
  const started = performance.now();
  const onProgress = options.onDownloadProgress;
  const path = await untilAborted(
    resolveModelFile(ref.uri, {
      directory,
      cli: false,
      endpoints,
      ...(token ? { tokens: { huggingFace: token } } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(onProgress
        ? {
            onProgress: ({
              downloadedSize,
              totalSize,
            }: {
              downloadedSize: number;
              totalSize: number;
            }) => onProgress({ downloadedBytes: downloadedSize, totalBytes: totalSize }),
          }
        : {}),
    }),
    options.signal,
  );
  log('downloaded %s in %d ms', path, Math.round(performance.now() - started));
  return done(path);
}
