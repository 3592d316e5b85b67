/**
 * The doctor's checks. Each returns one {@link CheckResult}: a status, one line in plain
 * language, what to do when it is not a pass, and the facts behind it (`data`, for
 * `--json`). Nothing here downloads, compiles or changes anything: the data dir is probed
 * with a file that is removed at once, ports are bound and released, and a bootstrap is
 * only dialled and pinged.
 */
import { access, constants, mkdtemp, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import {
  formatBytes,
  memoryRefusalMessage,
  planSizing,
  RUNTIME_OVERHEAD_BYTES,
} from '../engine/defaults.js';
import { IDENTITY_FILE } from '../identity.js';
import {
  BUILT_IN_MODELS,
  ensureDemoModel,
  findCachedHfModel,
  isHfModel,
  readModelShape,
  resolveModel,
  type ModelShape,
} from '../models/index.js';
import {
  HOT_CELSIUS,
  MIN_GLIBC,
  MIN_NODE,
  NODE_20_EOL,
  parseVersion,
  SUPPORTED_PLATFORMS,
  type MachineInfo,
} from './system.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export type CheckId =
  | 'node'
  | 'os'
  | 'cpu'
  | 'backend'
  | 'model'
  | 'memory'
  | 'disk'
  | 'data-dir'
  | 'ports'
  | 'bootstraps';

export interface CheckResult {
  /** Stable id (for scripts). */
  id: CheckId;
  /** Short label for people: `Node.js`, `Memory`, … */
  title: string;
  status: CheckStatus;
  /** One line: what was found. */
  summary: string;
  /** What to do about a warning or a failure. */
  hint?: string;
  /** The facts behind the line (bytes, versions, ports, …). */
  data: Record<string, unknown>;
}

const result = (
  id: CheckId,
  title: string,
  status: CheckStatus,
  summary: string,
  data: Record<string, unknown>,
  hint?: string,
): CheckResult => ({ id, title, status, summary, ...(hint != null ? { hint } : {}), data });

// ---------------------------------------------------------------- Node.js and the OS

export function checkNode(version: string = process.versions.node): CheckResult {
  const v = parseVersion(version);
  const data = { version: `v${version}`, major: v.major, minor: v.minor };
  if (v.major < MIN_NODE.major || (v.major === MIN_NODE.major && v.minor < MIN_NODE.minor)) {
    return result(
      'node',
      'Node.js',
      'fail',
      `v${version} is too old: token.place needs Node.js ${MIN_NODE.major}.${MIN_NODE.minor} or newer`,
      data,
      'install Node.js 22 LTS (nodejs.org, or NodeSource on Debian and Raspberry Pi OS)',
    );
  }
  if (v.major === 20) {
    return result(
      'node',
      'Node.js',
      'warn',
      `v${version} works, but Node.js 20's end of life is ${NODE_20_EOL} (no security fixes after that)`,
      data,
      'install Node.js 22 LTS or 24',
    );
  }
  if (v.major % 2 === 1) {
    return result(
      'node',
      'Node.js',
      'warn',
      `v${version} works, but odd-numbered releases are short-lived and never become LTS`,
      data,
      'install Node.js 22 LTS or 24',
    );
  }
  return result('node', 'Node.js', 'pass', `v${version}`, data);
}

export function checkOs(machine: MachineInfo): CheckResult {
  const key = `${machine.platform}-${machine.arch}`;
  const name =
    { linux: 'Linux', darwin: 'macOS', win32: 'Windows' }[machine.platform] ?? machine.platform;
  const data = {
    platform: machine.platform,
    arch: machine.arch,
    release: machine.release,
    glibc: machine.glibc ?? null,
    board: machine.board ?? null,
  };
  const label = `${machine.board != null ? `${machine.board}, ` : ''}${name} ${machine.release} ${machine.arch}`;
  if (!SUPPORTED_PLATFORMS.includes(key)) {
    const pi32 = machine.platform === 'linux' && machine.arch === 'arm';
    return result(
      'os',
      'System',
      'fail',
      `${label}: no prebuilt llama.cpp and WebRTC binaries for ${key}`,
      data,
      pi32
        ? 'install the 64-bit Raspberry Pi OS (Bookworm or newer, arm64)'
        : `use one of ${SUPPORTED_PLATFORMS.join(', ')}`,
    );
  }
  if (machine.platform === 'linux') {
    if (machine.glibc == null) {
      return result(
        'os',
        'System',
        'fail',
        `${label} without glibc (musl, e.g. Alpine): the prebuilt llama.cpp binaries need glibc`,
        data,
        'use a glibc distribution (Debian 12+, Ubuntu 22.04+, Raspberry Pi OS Bookworm, node:22-bookworm-slim)',
      );
    }
    const g = parseVersion(machine.glibc);
    if (g.major < MIN_GLIBC.major || (g.major === MIN_GLIBC.major && g.minor < MIN_GLIBC.minor)) {
      return result(
        'os',
        'System',
        'fail',
        `${label}, glibc ${machine.glibc}: the prebuilt llama.cpp binaries need glibc ${MIN_GLIBC.major}.${MIN_GLIBC.minor} or newer`,
        data,
        'upgrade the OS (Raspberry Pi OS Bookworm, Debian 12, Ubuntu 22.04 or newer)',
      );
    }
    return result('os', 'System', 'pass', `${label}, glibc ${machine.glibc}`, data);
  }
  return result('os', 'System', 'pass', label, data);
}

// ---------------------------------------------------------------- CPU

export function checkCpu(
  machine: MachineInfo,
  physicalCores: number,
  llamaFeatures: string[] | undefined,
): CheckResult {
  // The OS's own list where there is one (an empty list means no SIMD at all), else llama.cpp's.
  const features = machine.cpu?.features ?? llamaFeatures ?? [];
  const source = machine.cpu?.source ?? (llamaFeatures != null ? 'llama.cpp' : null);
  const data = {
    model: machine.cpuModel,
    physicalCores,
    logicalCpus: machine.logicalCpus,
    features,
    featuresFrom: source,
    temperatureC: machine.temperatureC ?? null,
  };
  const cores = `${physicalCores} core${physicalCores === 1 ? '' : 's'}${
    machine.logicalCpus !== physicalCores ? ` (${machine.logicalCpus} threads)` : ''
  }`;
  const list = features.length > 0 ? features.join(', ') : 'no SIMD features reported';
  const summary = `${machine.cpuModel}, ${cores}: ${list}`;
  const hot =
    machine.temperatureC != null && machine.temperatureC >= HOT_CELSIUS
      ? ` — ${machine.temperatureC} °C`
      : '';
  if (hot !== '') {
    return result(
      'cpu',
      'CPU',
      'warn',
      `${summary}${hot}: hot enough to throttle`,
      data,
      'add cooling (on a Raspberry Pi 5: the Active Cooler or a case with a fan)',
    );
  }
  if (source == null) return result('cpu', 'CPU', 'pass', `${machine.cpuModel}, ${cores}`, data);
  if (machine.arch === 'x64') {
    if (!features.includes('AVX2')) {
      return result(
        'cpu',
        'CPU',
        'warn',
        `${summary}: no AVX2, so llama.cpp runs its slower kernels`,
        data,
        'expect a fraction of the speed of a CPU with AVX2 (most x64 CPUs since 2013); prefer small models',
      );
    }
    return result(
      'cpu',
      'CPU',
      'pass',
      features.includes('AVX-512') ? summary : `${summary}; no AVX-512 (fine)`,
      data,
    );
  }
  if (machine.arch === 'arm64') {
    if (!features.includes('NEON')) {
      return result('cpu', 'CPU', 'warn', `${summary}: no NEON`, data, 'expect slow generation');
    }
    if (!features.includes('dotprod')) {
      return result(
        'cpu',
        'CPU',
        'warn',
        `${summary}: no dotprod (e.g. a Raspberry Pi 4), so quantized models run at about half the speed of a Pi 5`,
        data,
        'it works; prefer 1B models, or a Raspberry Pi 5',
      );
    }
  }
  return result('cpu', 'CPU', 'pass', summary, data);
}

// ---------------------------------------------------------------- backend

export type BackendProbe =
  | {
      ok: true;
      /** `cpu`, `cuda`, `metal` or `vulkan`. */
      backend: string;
      buildType: string;
      gpuNames: string[];
      vramBytes: number;
      features: string[];
    }
  | { ok: false; error: string };

export function checkBackend(
  probe: BackendProbe,
  gpuMode: 'auto' | 'off',
  builtIn: boolean,
): CheckResult {
  if (!probe.ok) {
    return result(
      'backend',
      'Backend',
      'fail',
      probe.error,
      { backend: null, gpuMode },
      'reinstall with `npm ci` (optional dependencies included) on a supported platform',
    );
  }
  const data = {
    backend: probe.backend,
    buildType: probe.buildType,
    gpuMode,
    gpus: probe.gpuNames,
    vramBytes: probe.vramBytes,
  };
  const name = probe.backend === 'cpu' ? 'CPU' : probe.backend.toUpperCase();
  const gpu =
    probe.gpuNames.length > 0
      ? ` on ${probe.gpuNames.join(', ')}${probe.vramBytes > 0 ? ` (${formatBytes(probe.vramBytes)} VRAM)` : ''}`
      : '';
  const why =
    probe.backend !== 'cpu'
      ? ''
      : gpuMode === 'off'
        ? ' (--gpu off)'
        : '; no GPU backend works here (CUDA, Vulkan and Metal need a supported GPU and driver)';
  const demo = builtIn && probe.backend !== 'cpu' ? '; the demo model always runs on the CPU' : '';
  return result(
    'backend',
    'Backend',
    'pass',
    `node-llama-cpp ${probe.buildType} binary, ${name}${gpu}${why}${demo}`,
    data,
  );
}

// ---------------------------------------------------------------- model

export type ModelFacts =
  | { kind: 'none' }
  | {
      kind: 'built-in' | 'file' | 'hf';
      spec: string;
      /** The local file, when there is one. */
      path?: string;
      /** `hf:` models: where the download would go, and from where. */
      localPath?: string;
      url?: string;
      shape?: ModelShape;
      error?: string;
    };

/** Find the model and read its header, downloading and writing nothing into the data dir. */
export async function inspectModel(
  spec: string,
  dataDir: string,
  hfEndpoint?: string,
): Promise<ModelFacts> {
  const value = spec.trim();
  if (value === 'none') return { kind: 'none' };
  try {
    const variant = BUILT_IN_MODELS[value];
    if (variant != null) {
      // The node writes it into the data dir on first start; the doctor writes a copy into a
      // temporary folder to read its header, and removes it.
      const dir = await mkdtemp(join(tmpdir(), 'tokenplace-doctor-'));
      try {
        const { path } = await ensureDemoModel(variant, dir);
        return { kind: 'built-in', spec: value, shape: await readModelShape(path) };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    if (isHfModel(value)) {
      const found = await findCachedHfModel(value, {
        dataDir,
        ...(hfEndpoint != null ? { hfEndpoint } : {}),
      });
      if (!found.cached) {
        return { kind: 'hf', spec: value, localPath: found.localPath, url: found.url };
      }
      return {
        kind: 'hf',
        spec: value,
        path: found.path,
        url: found.url,
        shape: await readModelShape(found.path),
      };
    }
    const resolved = await resolveModel(value, { dataDir });
    return {
      kind: 'file',
      spec: value,
      path: resolved.path,
      shape: await readModelShape(resolved.path),
    };
  } catch (err) {
    const kind = isHfModel(value) ? 'hf' : 'file';
    return { kind, spec: value, error: (err as Error).message };
  }
}

export function checkModel(facts: ModelFacts): CheckResult {
  if (facts.kind === 'none') {
    return result('model', 'Model', 'pass', 'none: the node routes every request to the mesh', {
      kind: 'none',
    });
  }
  const data = {
    kind: facts.kind,
    model: facts.spec,
    path: facts.path ?? null,
    fileBytes: facts.shape?.fileBytes ?? null,
    trainedContext: facts.shape?.trainedContext ?? null,
  };
  if (facts.error != null) return result('model', 'Model', 'fail', facts.error, data);
  if (facts.kind === 'built-in') {
    return result(
      'model',
      'Model',
      'pass',
      `${facts.spec}: the built-in test model (${formatBytes(facts.shape!.fileBytes)}); pass --model to check a real one`,
      data,
    );
  }
  if (facts.shape == null) {
    return result(
      'model',
      'Model',
      'warn',
      `${facts.spec} is not downloaded yet, so its size is unknown; the first start downloads it to ${facts.localPath}`,
      { ...data, localPath: facts.localPath ?? null, url: facts.url ?? null },
      'start the node once with network access (or copy the .gguf file there), then run the doctor again',
    );
  }
  return result(
    'model',
    'Model',
    'pass',
    `${facts.path} (${formatBytes(facts.shape.fileBytes)}, trained context ${facts.shape.trainedContext || 'unknown'})`,
    data,
  );
}

// ---------------------------------------------------------------- memory

export interface MemoryInputs {
  facts: ModelFacts;
  physicalCores: number;
  totalBytes: number;
  availableBytes: number;
  /** RAM holds the model (CPU, Metal), so it must fit. */
  ramBound: boolean;
  threads?: number | undefined;
  maxConcurrency?: number | undefined;
  contextSize?: number | undefined;
}

export function checkMemory(input: MemoryInputs): CheckResult {
  const { facts, totalBytes, availableBytes } = input;
  const has = `${formatBytes(totalBytes)} (${formatBytes(availableBytes)} available)`;
  const base = { totalBytes, availableBytes };
  if (facts.kind === 'none') {
    return result(
      'memory',
      'Memory',
      'pass',
      `${has}; with no model the node needs about ${formatBytes(RUNTIME_OVERHEAD_BYTES)}`,
      base,
    );
  }
  if (facts.shape == null) {
    return result(
      'memory',
      'Memory',
      'warn',
      `${has}; how much the model needs is unknown until ${facts.error != null ? 'it can be read' : 'it is downloaded'}`,
      base,
      'see the recommendation below for a model size that fits',
    );
  }
  const builtIn = facts.kind === 'built-in';
  const plan = planSizing({
    builtIn,
    physicalCores: input.physicalCores,
    memoryBytes: totalBytes,
    shape: facts.shape,
    fitToMemory: input.ramBound,
    threads: input.threads,
    maxConcurrency: input.maxConcurrency,
    contextSize: input.contextSize,
  });
  const m = plan.memory;
  const data = {
    ...base,
    estimatedBytes: m.totalBytes,
    modelBytes: m.modelBytes,
    kvCacheBytes: m.kvCacheBytes,
    computeBytes: m.computeBytes,
    runtimeBytes: m.runtimeBytes,
    ramBound: input.ramBound,
    threads: plan.threads,
    maxConcurrency: plan.maxConcurrency,
    contextSize: plan.contextSize,
  };
  const needs =
    `the model needs about ${formatBytes(m.totalBytes)} (model ${formatBytes(m.modelBytes)} + KV cache ` +
    `${formatBytes(m.kvCacheBytes)} for ${plan.maxConcurrency} × ${plan.contextSize} tokens + compute and runtime ` +
    `${formatBytes(m.computeBytes + m.runtimeBytes)})`;
  if (!input.ramBound) {
    return result(
      'memory',
      'Memory',
      'pass',
      `${has}; the GPU holds the model, node-llama-cpp fits its layers into VRAM`,
      data,
    );
  }
  if (!plan.fits) {
    return result(
      'memory',
      'Memory',
      'fail',
      memoryRefusalMessage(`${facts.spec}`, plan, { totalBytes, availableBytes }).replace(
        / To fix it: .*$/,
        '',
      ),
      data,
      'use a smaller model or quantization (see the recommendation below), or a smaller --context-size',
    );
  }
  if (m.totalBytes > availableBytes) {
    return result(
      'memory',
      'Memory',
      'warn',
      `${has}; ${needs}: more than is available now`,
      data,
      'close other programs, or expect swapping and slow answers',
    );
  }
  return result('memory', 'Memory', 'pass', `${has}; ${needs}`, data);
}

// ---------------------------------------------------------------- disk and data dir

/** The folder itself if it exists, else its nearest existing parent. */
async function nearestExisting(dir: string): Promise<string> {
  let current = resolvePath(dir);
  for (;;) {
    try {
      await stat(current);
      return current;
    } catch {
      const parent = dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

/** Room the node needs besides a download: identity, hash caches, the demo model. */
const SMALL_STATE_BYTES = 64 * 1024 ** 2;
const LOW_DISK_BYTES = 1024 ** 3;

export async function checkDisk(
  dataDir: string,
  facts: ModelFacts,
  recommendedModelBytes: number,
): Promise<CheckResult> {
  const where = await nearestExisting(dataDir);
  let free: number;
  try {
    const s = await statfs(where);
    free = Number(s.bavail) * Number(s.bsize);
  } catch (err) {
    return result(
      'disk',
      'Disk',
      'warn',
      `cannot tell the free space of ${where}: ${(err as Error).message}`,
      { dataDir, measuredAt: where, freeBytes: null },
    );
  }
  const data = { dataDir, measuredAt: where, freeBytes: free };
  const freeText = `${formatBytes(free)} free for ${resolvePath(dataDir)}`;
  if (facts.kind === 'hf' && facts.shape == null && facts.error == null) {
    const wanted = Math.round(recommendedModelBytes * 1.1);
    if (free < wanted) {
      return result(
        'disk',
        'Disk',
        'warn',
        `${freeText}; the model is not downloaded yet, and a model of the recommended size needs about ${formatBytes(wanted)}`,
        data,
        'free some space, or point --data-dir at a bigger disk (an SSD on a Raspberry Pi)',
      );
    }
    return result(
      'disk',
      'Disk',
      'pass',
      `${freeText} (enough for a model of the recommended size)`,
      data,
    );
  }
  if (free < SMALL_STATE_BYTES) {
    return result(
      'disk',
      'Disk',
      'fail',
      `${freeText}: not enough for the node's state`,
      data,
      'free some space, or point --data-dir at another disk',
    );
  }
  if (free < LOW_DISK_BYTES) {
    return result('disk', 'Disk', 'warn', `${freeText}: little room left`, data, 'free some space');
  }
  return result('disk', 'Disk', 'pass', freeText, data);
}

export async function checkDataDir(dataDir: string): Promise<CheckResult> {
  const dir = resolvePath(dataDir);
  const data: Record<string, unknown> = { dataDir: dir, exists: false, identity: false };
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) {
      return result(
        'data-dir',
        'Data dir',
        'fail',
        `${dir} exists but is not a folder`,
        data,
        'pass --data-dir <folder>',
      );
    }
    data.exists = true;
    const probe = join(dir, `.doctor-${process.pid}-${Date.now()}.tmp`);
    try {
      await writeFile(probe, '');
    } catch (err) {
      return result(
        'data-dir',
        'Data dir',
        'fail',
        `${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        data,
        'fix its owner or permissions, or pass another --data-dir',
      );
    } finally {
      await rm(probe, { force: true });
    }
    const identity = await stat(join(dir, IDENTITY_FILE)).then(
      () => true,
      () => false,
    );
    data.identity = identity;
    return result(
      'data-dir',
      'Data dir',
      'pass',
      `${dir} is writable${identity ? ` and holds this node's identity (${IDENTITY_FILE}: keep it to keep the PeerId)` : '; the first start creates an identity there'}`,
      data,
    );
  } catch {
    const parent = await nearestExisting(dir);
    try {
      await access(parent, constants.W_OK);
    } catch {
      return result(
        'data-dir',
        'Data dir',
        'fail',
        `${dir} does not exist and cannot be created (${parent} is not writable)`,
        data,
        'create it with the right owner, or pass another --data-dir',
      );
    }
    return result(
      'data-dir',
      'Data dir',
      'pass',
      `${dir} does not exist yet; the first start creates it`,
      data,
    );
  }
}

// ---------------------------------------------------------------- ports

export interface PortToCheck {
  /** `API`, `bootstrap HTTP`, `bootstrap libp2p`. */
  label: string;
  host: string;
  port: number;
  /** Ask `http://…/healthz` who is there when the port is taken. */
  http: boolean;
}

type PortState =
  | { state: 'free' }
  | { state: 'in-use'; tokenplace?: { peerId: string; role: 'node' | 'bootstrap' } }
  | { state: 'error'; code: string };

async function probePort(p: PortToCheck): Promise<PortState> {
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host: p.host, port: p.port, exclusive: true }, () =>
      server.close(() => resolve(undefined)),
    );
  });
  if (error == null) return { state: 'free' };
  if (error.code !== 'EADDRINUSE') return { state: 'error', code: error.code ?? error.message };
  if (!p.http) return { state: 'in-use' };
  const host = ['0.0.0.0', '::'].includes(p.host)
    ? '127.0.0.1'
    : p.host.includes(':')
      ? `[${p.host}]`
      : p.host;
  try {
    const res = await fetch(`http://${host}:${p.port}/healthz`, {
      signal: AbortSignal.timeout(1_500),
    });
    const body = (await res.json()) as Record<string, unknown>;
    if (typeof body.peerId === 'string') {
      return {
        state: 'in-use',
        tokenplace: { peerId: body.peerId, role: 'reservations' in body ? 'bootstrap' : 'node' },
      };
    }
  } catch {
    // not token.place (or not HTTP)
  }
  return { state: 'in-use' };
}

/** Ports of bootstrap listen multiaddrs (`/ip4/0.0.0.0/tcp/9090/ws`) to check; port 0 is skipped. */
export function listenPorts(addrs: readonly string[]): PortToCheck[] {
  const out: PortToCheck[] = [];
  for (const text of addrs) {
    try {
      const parts = multiaddr(text).getComponents();
      const host = parts.find((c) => c.name === 'ip4' || c.name === 'ip6')?.value ?? '0.0.0.0';
      const port = Number(parts.find((c) => c.name === 'tcp')?.value ?? NaN);
      if (Number.isInteger(port)) out.push({ label: 'bootstrap libp2p', host, port, http: false });
    } catch {
      // not a multiaddr: the bootstrap itself says so
    }
  }
  return out;
}

export async function checkPorts(ports: readonly PortToCheck[]): Promise<CheckResult> {
  const rows: Array<Record<string, unknown>> = [];
  const parts: string[] = [];
  let status: CheckStatus = 'pass';
  const hints: string[] = [];
  for (const p of ports) {
    const where = `${p.label} ${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;
    if (p.port === 0) {
      rows.push({ ...p, state: 'any' });
      parts.push(`${where} (0 picks a free port)`);
      continue;
    }
    const found = await probePort(p);
    rows.push({ ...p, ...found });
    if (found.state === 'free') {
      parts.push(`${where} is free`);
    } else if (found.state === 'in-use' && found.tokenplace != null) {
      if (status === 'pass') status = 'warn';
      parts.push(`${where} is taken by a running token.place ${found.tokenplace.role}`);
      hints.push(`stop the running ${found.tokenplace.role} first, or pick another port`);
    } else if (found.state === 'in-use') {
      status = 'fail';
      parts.push(`${where} is taken by another program`);
      hints.push(
        `pick another port (${p.label === 'API' ? '--api-port' : p.label === 'bootstrap HTTP' ? '--http' : '--listen'})`,
      );
    } else {
      status = 'fail';
      parts.push(`${where} cannot be used (${found.code})`);
      hints.push(
        found.code === 'EACCES'
          ? 'ports below 1024 need privileges: use a higher port'
          : found.code === 'EADDRNOTAVAIL'
            ? 'that address is not one of this machine’s'
            : 'pick another address or port',
      );
    }
  }
  return result(
    'ports',
    'Ports',
    status,
    parts.join('; '),
    { ports: rows },
    hints.length > 0 ? [...new Set(hints)].join('; ') : undefined,
  );
}

// ---------------------------------------------------------------- bootstraps

export interface DialResult {
  address: string;
  ok: boolean;
  peerId?: string;
  /** Dial plus Noise handshake. */
  connectMs?: number;
  /** libp2p ping round trip. */
  rttMs?: number;
  error?: string;
}

/**
 * Dial each bootstrap for real: TCP or WebSockets, Noise (which proves the PeerId in the
 * address), yamux, then a libp2p ping. An ephemeral identity, no listening, stopped after.
 */
export async function dialBootstraps(
  addrs: readonly string[],
  timeoutMs: number,
): Promise<DialResult[]> {
  if (addrs.length === 0) return [];
  const [{ createLibp2p }, { tcp }, { webSockets }, { noise }, { yamux }, { ping }] =
    await Promise.all([
      import('libp2p'),
      import('@libp2p/tcp'),
      import('@libp2p/websockets'),
      import('@libp2p/noise'),
      import('@libp2p/yamux'),
      import('@libp2p/ping'),
    ]);
  const node = await createLibp2p({
    addresses: { listen: [] },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // Whatever the operator configured, LAN and loopback bootstraps included.
    connectionGater: { denyDialMultiaddr: () => false },
    services: { ping: ping() },
  });
  try {
    // One after the other: libp2p would merge concurrent dials to one address, and a
    // verdict for each configured address is the point.
    const results: DialResult[] = [];
    for (const address of addrs) results.push(await dialOne(address));
    return results;
  } finally {
    await node.stop();
  }

  async function dialOne(address: string): Promise<DialResult> {
    let ma;
    try {
      ma = multiaddr(address);
    } catch {
      return { address, ok: false, error: 'not a multiaddr' };
    }
    if (ma.getComponents().at(-1)?.name !== 'p2p') {
      return {
        address,
        ok: false,
        error: 'it must end with /p2p/<peer id> (the bootstrap prints its full address)',
      };
    }
    const started = performance.now();
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const connection = await node.dial(ma, { signal });
      const connectMs = Math.round(performance.now() - started);
      const rttMs = await node.services.ping.ping(connection.remotePeer, { signal });
      // Each address gets its own dial: never reuse this connection for the next one.
      await node.hangUp(connection.remotePeer).catch(() => {});
      return {
        address,
        ok: true,
        peerId: connection.remotePeer.toString(),
        connectMs,
        rttMs: Math.round(rttMs),
      };
    } catch (err) {
      const error = signal.aborted
        ? `no answer within ${timeoutMs / 1000} s`
        : ((err as Error).message ?? String(err));
      return { address, ok: false, error };
    }
  }
}

export function checkBootstraps(results: readonly DialResult[]): CheckResult {
  if (results.length === 0) {
    return result(
      'bootstraps',
      'Bootstraps',
      'pass',
      'none configured: the node serves its own API only (pass --bootstrap <multiaddr> to join a mesh)',
      { bootstraps: [] },
    );
  }
  const ok = results.filter((r) => r.ok);
  const parts = results.map((r) =>
    r.ok
      ? `${r.address} answered (connected in ${r.connectMs} ms, ping ${r.rttMs} ms, PeerId verified)`
      : `${r.address}: ${r.error}`,
  );
  const status: CheckStatus =
    ok.length === results.length ? 'pass' : ok.length > 0 ? 'warn' : 'fail';
  return result(
    'bootstraps',
    'Bootstraps',
    status,
    parts.join('; '),
    { bootstraps: results },
    status === 'pass'
      ? undefined
      : 'check the address (the bootstrap banner prints it), that the bootstrap runs, and that a firewall lets the port through',
  );
}
