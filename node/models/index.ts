/**
 * Models for a token.place node: the built-in demo models (a tiny GGUF generated on the
 * spot, byte-identical on every run), resolution of `--model` values (`demo`,
 * `demo-random`, a local `.gguf` path, `hf:` URIs with a cache and an offline-safe
 * preflight), and the metadata a node signs into its model card.
 *
 * @example
 * ```ts
 * import { readModelMetadata, resolveModel } from './node/models/index.js';
 *
 * const resolved = await resolveModel('demo', { dataDir: '/tmp/token.place' });
 * const card = await readModelMetadata(resolved.path, { id: resolved.id });
 * // { id: 'demo', family: 'llama', parameters: 406912, quantization: 'F32', contextLength: 512, ggufSha256: '…' }
 * ```
 */
export {
  DEMO_CONTEXT_LENGTH,
  DEMO_MODEL_SEED,
  DEMO_MODEL_SHA256,
  DEMO_SCRIPTED_REPLY,
  DemoModelSelfCheckError,
  generateDemoGguf,
} from './demo-gguf.js';
export type { DemoGguf, DemoGgufOptions, DemoModelVariant, ScriptSelfCheck } from './demo-gguf.js';
export { ModelLoadError, ModelNotFoundError, OfflineModelError } from './errors.js';
export {
  GGUF_MAGIC,
  HASH_CACHE_SUFFIX,
  assertGgufFile,
  assertModelId,
  diagnoseTruncation,
  modelIdFromFileName,
  modelShapeFromGguf,
  readModelMetadata,
  readModelShape,
  requiredGgufBytes,
  sha256File,
} from './metadata.js';
export type {
  ModelMetadata,
  ModelShape,
  ReadModelMetadataOptions,
  Sha256FileOptions,
} from './metadata.js';
export {
  BUILT_IN_MODELS,
  DEFAULT_MODEL,
  HF_PREFLIGHT_TIMEOUT_MS,
  defaultHfEndpoint,
  ensureDemoModel,
  findCachedHfModel,
  isHfModel,
  modelsDir,
  parseHfUri,
  resolveModel,
} from './resolve.js';
export type {
  CachedHfModel,
  DownloadProgress,
  HfModelRef,
  ResolveModelOptions,
  ResolvedModel,
} from './resolve.js';
