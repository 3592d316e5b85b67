/**
 * What the doctor learns about the machine: Node.js, the OS and its C library, the CPU
 * and its SIMD features, a Raspberry Pi's model and temperature. Parsers take text, so
 * they are tested with other machines' `/proc/cpuinfo`; the readers are best effort and
 * never throw.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { arch, cpus, platform, release } from 'node:os';

/** The oldest Node.js token.place supports (package.json `engines`). */
export const MIN_NODE = { major: 20, minor: 19 } as const;
/** Node.js 20's end of life (nodejs.org release schedule). */
export const NODE_20_EOL = '2026-04-30';
/** The prebuilt llama.cpp binaries are built against glibc 2.34 (node-llama-cpp 3.21). */
export const MIN_GLIBC = { major: 2, minor: 34 } as const;
/** A Raspberry Pi 5 starts throttling at 85 °C; warn a little before. */
export const HOT_CELSIUS = 80;

/** Platforms with prebuilt node-llama-cpp and node-datachannel binaries in the lockfile. */
export const SUPPORTED_PLATFORMS: readonly string[] = [
  'linux-x64',
  'linux-arm64',
  'darwin-arm64',
  'darwin-x64',
  'win32-x64',
  'win32-arm64',
];

export function parseVersion(text: string): { major: number; minor: number; patch: number } {
  const [major = 0, minor = 0, patch = 0] = text
    .replace(/^v/, '')
    .split(/[.-]/)
    .map((part) => Number.parseInt(part, 10) || 0);
  return { major, minor, patch };
}

/** The CPU features llama.cpp cares about, under one spelling for every source. */
export interface CpuFeatures {
  /** `AVX`, `AVX2`, `AVX-512`, `FMA`, `F16C` (x64); `NEON`, `dotprod`, `i8mm`, `SVE`, `fp16` (arm64). */
  features: string[];
  /** Where they came from: `/proc/cpuinfo`, `sysctl`, `llama.cpp`. */
  source: string;
}

const X64_FLAGS: ReadonlyArray<[flag: string, name: string]> = [
  ['avx', 'AVX'],
  ['avx2', 'AVX2'],
  ['avx512f', 'AVX-512'],
  ['fma', 'FMA'],
  ['f16c', 'F16C'],
];
const ARM_FLAGS: ReadonlyArray<[flag: string, name: string]> = [
  ['asimd', 'NEON'],
  ['asimddp', 'dotprod'],
  ['i8mm', 'i8mm'],
  ['sve', 'SVE'],
  ['asimdhp', 'fp16'],
];

/** Arm core names by `CPU part`, for the boards people run nodes on. */
const ARM_PARTS: Readonly<Record<string, string>> = {
  '0xd03': 'Cortex-A53',
  '0xd04': 'Cortex-A35',
  '0xd05': 'Cortex-A55',
  '0xd07': 'Cortex-A57',
  '0xd08': 'Cortex-A72',
  '0xd09': 'Cortex-A73',
  '0xd0a': 'Cortex-A75',
  '0xd0b': 'Cortex-A76',
  '0xd0c': 'Neoverse-N1',
  '0xd40': 'Neoverse-V1',
  '0xd49': 'Neoverse-N2',
  '0xd4f': 'Neoverse-V2',
};

/**
 * Linux's `/proc/cpuinfo`: the CPU's name (`model name` on x86; the core's name from
 * `CPU part` on Arm), its features (`flags` on x86, `Features` on Arm) and a Raspberry
 * Pi's board (`Model`).
 */
export function parseCpuinfo(text: string): {
  model: string | undefined;
  board: string | undefined;
  features: string[];
} {
  let flags: Set<string> | undefined;
  let modelName: string | undefined;
  let part: string | undefined;
  let board: string | undefined;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if ((key === 'flags' || key === 'features') && flags == null) {
      flags = new Set(value.split(/\s+/));
    } else if (key === 'model name' && modelName == null && value !== '') {
      modelName = value;
    } else if (key === 'cpu part' && part == null) {
      part = value.toLowerCase();
    } else if (key === 'model' && !/^\d+$/.test(value) && value !== '') {
      board = value;
    }
  }
  const arm = flags?.has('asimd') === true || flags?.has('neon') === true;
  const features = (arm ? ARM_FLAGS : X64_FLAGS)
    .filter(([flag]) => flags?.has(flag) === true)
    .map(([, name]) => name);
  // 32-bit Arm says "neon" rather than "asimd".
  if (flags?.has('neon') === true && !features.includes('NEON')) features.unshift('NEON');
  const core = part != null ? ARM_PARTS[part] : undefined;
  return { model: modelName ?? (core != null ? `Arm ${core}` : undefined), board, features };
}

/** Features from llama.cpp's own system info: `CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | …`. */
export function parseLlamaSystemInfo(text: string): string[] {
  const on = new Set(
    [...text.matchAll(/([A-Z0-9_]+) = 1/g)].map((m) => m[1]!).filter((name) => name !== 'CPU'),
  );
  const map: ReadonlyArray<[flag: string, name: string]> = [
    ['AVX', 'AVX'],
    ['AVX2', 'AVX2'],
    ['AVX512', 'AVX-512'],
    ['FMA', 'FMA'],
    ['F16C', 'F16C'],
    ['NEON', 'NEON'],
    ['DOTPROD', 'dotprod'],
    ['MATMUL_INT8', 'i8mm'],
    ['SVE', 'SVE'],
    ['FP16_VA', 'fp16'],
  ];
  return map.filter(([flag]) => on.has(flag)).map(([, name]) => name);
}

function run(command: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 3_000 }, (err, stdout) =>
      resolve(err == null ? stdout : undefined),
    );
  });
}

/** Features from macOS `sysctl` (Intel: `machdep.cpu.*features`; Apple Silicon: `hw.optional.arm.*`). */
export async function macCpuFeatures(): Promise<string[] | undefined> {
  if (arch() === 'arm64') {
    const out = await run('sysctl', [
      'hw.optional.AdvSIMD',
      'hw.optional.arm.FEAT_DotProd',
      'hw.optional.arm.FEAT_I8MM',
      'hw.optional.arm.FEAT_FP16',
    ]);
    if (out == null) return undefined;
    const on = (key: string): boolean => new RegExp(`${key}: 1`).test(out);
    return [
      ...(on('hw.optional.AdvSIMD') ? ['NEON'] : []),
      ...(on('FEAT_DotProd') ? ['dotprod'] : []),
      ...(on('FEAT_I8MM') ? ['i8mm'] : []),
      ...(on('FEAT_FP16') ? ['fp16'] : []),
    ];
  }
  const out = await run('sysctl', ['-n', 'machdep.cpu.features', 'machdep.cpu.leaf7_features']);
  if (out == null) return undefined;
  const flags = new Set(out.toLowerCase().split(/\s+/));
  return [
    ...(flags.has('avx1.0') ? ['AVX'] : []),
    ...(flags.has('avx2') ? ['AVX2'] : []),
    ...(flags.has('avx512f') ? ['AVX-512'] : []),
    ...(flags.has('fma') ? ['FMA'] : []),
    ...(flags.has('f16c') ? ['F16C'] : []),
  ];
}

export interface MachineInfo {
  platform: string;
  arch: string;
  /** Kernel release. */
  release: string;
  /** glibc version on Linux (`undefined` on musl and elsewhere). */
  glibc: string | undefined;
  cpuModel: string;
  logicalCpus: number;
  /** A Raspberry Pi's board name (`/proc/device-tree/model`). */
  board: string | undefined;
  /** CPU temperature in °C, where the kernel reports it (`/sys/class/thermal`). */
  temperatureC: number | undefined;
  /** From `/proc/cpuinfo` or `sysctl`; the backend check fills in llama.cpp's view elsewhere. */
  cpu: CpuFeatures | undefined;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

export async function readMachineInfo(): Promise<MachineInfo> {
  const list = cpus();
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })
    ?.header;
  let cpu: CpuFeatures | undefined;
  let cpuModel = (list[0]?.model ?? '').trim();
  let board: string | undefined;
  if (platform() === 'linux') {
    const text = await readText('/proc/cpuinfo');
    if (text != null) {
      const parsed = parseCpuinfo(text);
      cpu = { features: parsed.features, source: '/proc/cpuinfo' };
      // libuv's name for Arm cores is often empty or generic ("ARMv8 Processor").
      if (parsed.model != null && (cpuModel === '' || /^ARMv\d/i.test(cpuModel))) {
        cpuModel = parsed.model;
      }
      board ??= parsed.board;
    }
  } else if (platform() === 'darwin') {
    const features = await macCpuFeatures();
    if (features != null) cpu = { features, source: 'sysctl' };
  }
  board ??= (await readText('/proc/device-tree/model'))?.replace(/\0/g, '').trim();
  const milli = Number.parseInt(
    (await readText('/sys/class/thermal/thermal_zone0/temp')) ?? '',
    10,
  );
  return {
    platform: platform(),
    arch: arch(),
    release: release(),
    glibc: platform() === 'linux' ? header?.glibcVersionRuntime : undefined,
    cpuModel: cpuModel || 'unknown CPU',
    logicalCpus: list.length,
    board: board === '' ? undefined : board,
    temperatureC: Number.isFinite(milli) ? Math.round(milli / 100) / 10 : undefined,
    cpu,
  };
}
