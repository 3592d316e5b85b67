// `npm ci` must install, with nothing to compile, on macOS (arm64, x64), Windows (x64) and
// Linux (x64, arm64 — a Raspberry Pi): package-lock.json has to carry every native
// dependency's prebuilt package for each of them, at its parent's version, with `os`/`cpu`
// (and `libc`) fields npm can match. (node-llama-cpp 3.22 shipped a lock without its
// mac/win packages and `npm ci` refused it: see shared/notes/node-llama-cpp-spike.md.)
// And `npm start` / `npm test` must run in any shell npm uses, cmd.exe included.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface LockPackage {
  version?: string;
  integrity?: string;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  optional?: boolean;
  optionalDependencies?: Record<string, string>;
}

const lock = JSON.parse(
  readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8'),
) as {
  lockfileVersion: number;
  packages: Record<string, LockPackage>;
};
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};

const entry = (name: string): LockPackage | undefined => lock.packages[`node_modules/${name}`];

interface Target {
  os: string;
  cpu: string;
  libc?: string;
}
const TARGETS: Record<string, Target> = {
  'macOS arm64': { os: 'darwin', cpu: 'arm64' },
  'macOS x64': { os: 'darwin', cpu: 'x64' },
  'Windows x64': { os: 'win32', cpu: 'x64' },
  'Linux x64': { os: 'linux', cpu: 'x64', libc: 'glibc' },
  'Linux arm64': { os: 'linux', cpu: 'arm64', libc: 'glibc' },
};

/** The native dependencies token.place runs on, and their package for each target. */
const NATIVE: Record<string, Record<keyof typeof TARGETS, string>> = {
  'node-llama-cpp': {
    'macOS arm64': '@node-llama-cpp/mac-arm64-metal',
    'macOS x64': '@node-llama-cpp/mac-x64',
    'Windows x64': '@node-llama-cpp/win-x64',
    'Linux x64': '@node-llama-cpp/linux-x64',
    'Linux arm64': '@node-llama-cpp/linux-arm64',
  },
  'node-datachannel': {
    'macOS arm64': '@node-datachannel/darwin-arm64',
    'macOS x64': '@node-datachannel/darwin-x64',
    'Windows x64': '@node-datachannel/win32-x64-msvc',
    'Linux x64': '@node-datachannel/linux-x64-gnu',
    'Linux arm64': '@node-datachannel/linux-arm64-gnu',
  },
};

/** Would npm install `p` on `t`? (npm's own rule: listed os/cpu/libc must include the target's.) */
function matches(p: LockPackage, t: Target): boolean {
  return (
    (p.os == null || p.os.includes(t.os)) &&
    (p.cpu == null || p.cpu.includes(t.cpu)) &&
    (p.libc == null || t.libc == null || p.libc.includes(t.libc))
  );
}

describe('package-lock.json', () => {
  it('is a v3 lockfile', () => {
    expect(lock.lockfileVersion).toBe(3);
  });

  for (const [parent, packages] of Object.entries(NATIVE)) {
    describe(parent, () => {
      const parentEntry = entry(parent);
      it('is locked, and lists its platform packages as optional dependencies', () => {
        expect(parentEntry?.version, `${parent} missing from the lock`).toMatch(/^\d+\.\d+\.\d+/);
      });
      for (const [target, name] of Object.entries(packages)) {
        it(`${target}: ${name} at ${parent}'s version, with matching os/cpu`, () => {
          const child = entry(name);
          expect(child, `${name} missing from package-lock.json`).toBeDefined();
          expect(child!.version).toBe(parentEntry!.version);
          expect(parentEntry!.optionalDependencies?.[name]).toBe(parentEntry!.version);
          expect(child!.optional).toBe(true);
          expect(child!.integrity).toMatch(/^sha512-/);
          const t = TARGETS[target]!;
          expect(child!.os).toEqual([t.os]);
          expect(child!.cpu).toContain(t.cpu);
          if (t.libc != null) expect(child!.libc).toEqual([t.libc]);
          expect(matches(child!, t)).toBe(true);
        });
      }
    });
  }

  it('every platform package any locked package lists is in the lock, at the listed version', () => {
    const problems: string[] = [];
    for (const [path, p] of Object.entries(lock.packages)) {
      for (const [name, range] of Object.entries(p.optionalDependencies ?? {})) {
        // Only platform packages: a missing one of those breaks `npm ci` on that platform.
        const child =
          lock.packages[`${path === '' ? '' : `${path}/`}node_modules/${name}`] ?? entry(name);
        if (child == null) {
          problems.push(`${path || '(root)'} lists ${name}@${range}, missing from the lock`);
        } else if (child.os != null && /^\d+\.\d+\.\d+/.test(range) && child.version !== range) {
          problems.push(`${name} is ${child.version}, ${path} wants ${range}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('every native package with binaries for several OSes covers all five targets', () => {
    const gaps: string[] = [];
    for (const [path, p] of Object.entries(lock.packages)) {
      const platformChildren = Object.keys(p.optionalDependencies ?? {})
        .map((name) => entry(name))
        .filter((c): c is LockPackage => c?.os != null);
      const oses = new Set(platformChildren.flatMap((c) => c.os ?? []));
      if (oses.size < 2) continue; // e.g. fsevents: macOS only, by design
      for (const [target, t] of Object.entries(TARGETS)) {
        if (!platformChildren.some((c) => matches(c, t)))
          gaps.push(`${path}: nothing for ${target}`);
      }
    }
    expect(gaps).toEqual([]);
  });
});

/** POSIX-shell-only constructs that cmd.exe (npm's shell on Windows) does not understand. */
const SHELL_ONLY: ReadonlyArray<[RegExp, string]> = [
  [/\brm\s+-/, 'rm -rf (use a Node script or rimraf)'],
  [/\b(cp|mv|mkdir\s+-p|ln|chmod|touch|cat|grep|sed)\s/, 'a POSIX command'],
  [/\$\(/, '$(…) command substitution'],
  [/`/, 'backticks'],
  [/(^|&&|;|\|\|)\s*export\s/, 'export'],
  [/(^|&&|\s)[A-Z_][A-Z0-9_]*=\S*\s+\S/, 'VAR=value before a command'],
  [/\$[A-Za-z_{]/, '$VAR expansion'],
  [/'/, 'single quotes (cmd.exe passes them through, globs included)'],
  [/;/, '; as a separator'],
  [/\/dev\/null/, '/dev/null'],
  [/(^|&&|;)\s*(source|\.)\s+\S/, 'source'],
  [/\b(ba)?sh\s+-c\b/, 'sh -c'],
];

/** The scripts `npm start` and `npm test` run: the script, its pre/post hooks, and every `npm run x` inside. */
function reachable(roots: string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name) || pkg.scripts[name] == null) return;
    seen.add(name);
    visit(`pre${name}`);
    visit(`post${name}`);
    for (const m of pkg.scripts[name].matchAll(/\bnpm\s+(?:run(?:-script)?\s+)?([\w:-]+)/g)) {
      visit(m[1]!);
    }
  };
  roots.forEach(visit);
  return [...seen];
}

describe('package.json scripts', () => {
  const scripts = reachable(['start', 'test']);

  it('npm start and npm test reach their scripts', () => {
    expect(scripts).toEqual(expect.arrayContaining(['start', 'test', 'build', 'lint']));
  });

  it.each(reachable(['start', 'test']))(
    '%s runs in any shell (cmd.exe too): only && between commands',
    (name) => {
      const script = pkg.scripts[name]!;
      const found = SHELL_ONLY.filter(([pattern]) => pattern.test(script)).map(([, what]) => what);
      expect(found, `"${name}": "${script}"`).toEqual([]);
    },
  );

  it('the check itself catches shell-only constructs', () => {
    const bad = [
      'rm -rf dist && tsc',
      'tsc && cp -r public dist',
      'NODE_ENV=production node x.js',
      'export FOO=1 && node x.js',
      'node $(npm bin)/x',
      "prettier --check 'src/**/*.ts'",
      'node a.js; node b.js',
      'node x.js 2>/dev/null',
      '. ./env.sh && node x.js',
    ];
    for (const script of bad) {
      expect(
        SHELL_ONLY.some(([pattern]) => pattern.test(script)),
        script,
      ).toBe(true);
    }
    for (const script of [
      'tsc -p tsconfig.build.json && vite build',
      'eslint . && prettier --check .',
    ]) {
      expect(
        SHELL_ONLY.some(([pattern]) => pattern.test(script)),
        script,
      ).toBe(false);
    }
  });
});
