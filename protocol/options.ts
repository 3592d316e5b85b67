/**
 * Declarative command-line options, shared by every role's `config.ts`: one table of
 * options gives the parser (flags, then `TOKENPLACE_*` environment variables, then a
 * config file, then defaults — each value validated with a clear error) and the
 * `--help` text. Platform-neutral: it takes argv, env and the config file as data (or a
 * `readFile` function from the role, for `--config <file.json>`).
 *
 * @example
 * ```ts
 * const OPTIONS = { apiPort: { type: 'integer', min: 0, max: 65535, default: 8000, description: 'port' } } as const;
 * const values = parseOptions(OPTIONS, { argv: ['--api-port', '0'], env: {} }); // { apiPort: 0 }
 * ```
 */

export type OptionType = 'string' | 'integer' | 'number' | 'boolean' | 'list';

export interface OptionDef {
  type: OptionType;
  description: string;
  default?: string | number | boolean | readonly string[];
  /** Shown in help after the flag, e.g. `<port>`. */
  placeholder?: string;
  /** One-letter alias (`-m`). */
  short?: string;
  /** Environment variable; `false` for none. @default TOKENPLACE_<FLAG_IN_CAPS> */
  env?: string | false;
  min?: number;
  max?: number;
  choices?: readonly string[];
  /** Extra validation: return an error message, or undefined when the value is fine. */
  check?: (value: never) => string | undefined;
}

export type OptionDefs = Record<string, OptionDef>;

type ValueOf<D extends OptionDef> = D['type'] extends 'integer' | 'number'
  ? number
  : D['type'] extends 'boolean'
    ? boolean
    : D['type'] extends 'list'
      ? string[]
      : string;

export type OptionValues<D extends OptionDefs> = {
  [K in keyof D]: D[K] extends { default: unknown } | { type: 'boolean' } | { type: 'list' }
    ? ValueOf<D[K]>
    : ValueOf<D[K]> | undefined;
};

/** A bad flag, environment variable or config file value. The message names which. */
export class ConfigError extends Error {
  static override readonly name = 'ConfigError';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function envName(key: string, def: OptionDef): string | undefined {
  if (def.env === false) return undefined;
  return def.env ?? `TOKENPLACE_${flagName(key).replace(/-/g, '_').toUpperCase()}`;
}

function convert(def: OptionDef, raw: unknown, where: string): unknown {
  const fail = (expected: string): never => {
    throw new ConfigError(`${where}: expected ${expected}, got ${JSON.stringify(raw)}`);
  };
  let value: unknown;
  switch (def.type) {
    case 'string':
      if (typeof raw !== 'string' || raw.length === 0) fail('a non-empty string');
      value = raw;
      break;
    case 'integer':
    case 'number': {
      const n =
        typeof raw === 'number'
          ? raw
          : typeof raw === 'string' && raw.trim() !== ''
            ? Number(raw)
            : NaN;
      if (!Number.isFinite(n) || (def.type === 'integer' && !Number.isInteger(n))) {
        fail(def.type === 'integer' ? 'an integer' : 'a number');
      }
      if ((def.min != null && n < def.min) || (def.max != null && n > def.max)) {
        fail(
          `${def.type === 'integer' ? 'an integer' : 'a number'} from ${def.min ?? '-∞'} to ${def.max ?? '∞'}`,
        );
      }
      value = n;
      break;
    }
    case 'boolean':
      if (typeof raw === 'boolean') value = raw;
      else if (typeof raw === 'string' && /^(1|true|yes|on)$/i.test(raw)) value = true;
      else if (typeof raw === 'string' && /^(0|false|no|off)$/i.test(raw)) value = false;
      else fail('true or false');
      break;
    case 'list': {
      const items = Array.isArray(raw)
        ? raw
        : typeof raw === 'string'
          ? raw
              .split(',')
              .map((s) => s.trim())
              .filter((s) => s !== '')
          : fail('a list');
      if (!items.every((i) => typeof i === 'string' && i !== ''))
        fail('a list of non-empty strings');
      value = items;
      break;
    }
  }
  const check = (v: string): void => {
    if (def.choices != null && !def.choices.includes(v)) fail(`one of ${def.choices.join(', ')}`);
  };
  if (typeof value === 'string') check(value);
  if (Array.isArray(value)) value.forEach((v: string) => check(v));
  const problem = def.check?.(value as never);
  if (problem != null) throw new ConfigError(`${where}: ${problem}`);
  return value;
}

export interface ParseInput {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** A parsed config file (JSON object keyed by camelCase or kebab-case option names). */
  file?: Readonly<Record<string, unknown>>;
  /** Where the file came from, for error messages. */
  fileName?: string;
}

/** Parses and validates; throws `ConfigError` with a message that names the culprit. */
export function parseOptions<D extends OptionDefs>(defs: D, input: ParseInput): OptionValues<D> {
  const byFlag = new Map<string, string>();
  const byShort = new Map<string, string>();
  for (const [key, def] of Object.entries(defs)) {
    byFlag.set(flagName(key), key);
    if (def.short != null) byShort.set(def.short, key);
  }

  const fromFlags = new Map<string, unknown>();
  const argv = [...input.argv];
  while (argv.length > 0) {
    const arg = argv.shift()!;
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
    } else if (/^-[A-Za-z]$/.test(arg)) {
      const key = byShort.get(arg.slice(1));
      if (key == null) throw new ConfigError(`unknown option ${arg} (see --help)`);
      name = flagName(key);
    } else {
      throw new ConfigError(`unexpected argument '${arg}' (see --help)`);
    }
    let key = byFlag.get(name);
    let negated = false;
    if (
      key == null &&
      name.startsWith('no-') &&
      defs[byFlag.get(name.slice(3)) ?? '']?.type === 'boolean'
    ) {
      key = byFlag.get(name.slice(3));
      negated = true;
    }
    if (key == null) throw new ConfigError(`unknown option --${name} (see --help)`);
    const def = defs[key]!;
    let raw: unknown;
    if (def.type === 'boolean') {
      raw = negated ? false : (inline ?? true);
    } else {
      raw = inline ?? argv.shift();
      if (raw == null || (inline == null && typeof raw === 'string' && raw.startsWith('--'))) {
        throw new ConfigError(
          `--${name} needs a value${def.placeholder ? ` ${def.placeholder}` : ''}`,
        );
      }
    }
    if (def.type === 'list') {
      const previous = (fromFlags.get(key) as string[] | undefined) ?? [];
      fromFlags.set(key, [...previous, ...(convert(def, raw, `--${name}`) as string[])]);
    } else {
      fromFlags.set(key, convert(def, raw, `--${name}`));
    }
  }

  const known = new Set(Object.keys(defs));
  const fileValues = new Map<string, unknown>();
  for (const [rawKey, raw] of Object.entries(input.file ?? {})) {
    const key = known.has(rawKey) ? rawKey : byFlag.get(rawKey);
    if (key == null) {
      throw new ConfigError(`${input.fileName ?? 'config file'}: unknown setting '${rawKey}'`);
    }
    fileValues.set(key, convert(defs[key]!, raw, `${input.fileName ?? 'config file'}: ${rawKey}`));
  }

  const out: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(defs)) {
    const env = envName(key, def);
    const envRaw = env == null ? undefined : input.env[env];
    if (fromFlags.has(key)) out[key] = fromFlags.get(key);
    else if (envRaw != null && envRaw !== '') out[key] = convert(def, envRaw, env!);
    else if (fileValues.has(key)) out[key] = fileValues.get(key);
    else if (def.default != null)
      out[key] = Array.isArray(def.default) ? [...def.default] : def.default;
    else if (def.type === 'boolean') out[key] = false;
    else if (def.type === 'list') out[key] = [];
  }
  return out as OptionValues<D>;
}

export interface HelpInfo {
  usage: string;
  summary: string;
  examples?: readonly string[];
  footer?: string;
}

// ---------------------------------------------------------------- config files

/**
 * The `--config <file.json>` option every role puts first in its table. Its environment
 * variable defaults to `TOKENPLACE_CONFIG`; a role may name its own (the bootstrap's is
 * `TOKENPLACE_BOOTSTRAP_CONFIG`, like its other role-specific variables).
 */
export function configOption(env = 'TOKENPLACE_CONFIG') {
  return {
    type: 'string',
    placeholder: '<file.json>',
    env,
    description:
      'read settings from this JSON file (keys: the option names, camelCase or kebab-case); flags and environment variables win over it',
  } as const satisfies OptionDef;
}

/** Where in `text` the character at `position` is, 1-based. */
function lineAndColumn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(position, text.length)));
  const lines = before.split(/\r\n|\r|\n/);
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/**
 * Parse a config file's text: JSON (a UTF-8 byte-order mark is allowed), whose top level
 * is an object. Throws `ConfigError` naming the file, with the line and column of a JSON
 * syntax error.
 */
export function parseConfigText(text: string, fileName: string): Record<string, unknown> {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    const message = (err as Error).message;
    // V8 says "… in JSON at position 42" (newer versions add "(line 3 column 5)"), or
    // "Unexpected end of JSON input" with no position.
    const position = /at position (\d+)/.exec(message)?.[1];
    const { line, column } = lineAndColumn(body, position != null ? Number(position) : body.length);
    const reason = message
      .replace(/\s*\(line \d+ column \d+\)/, '')
      .replace(/,? "[\s\S]*" is not valid JSON$/, '')
      .replace(/ in JSON at position \d+/, '');
    throw new ConfigError(
      `${fileName}: not valid JSON at line ${line}, column ${column}: ${reason}`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw new ConfigError(
      `${fileName}: expected a JSON object of settings ({"apiPort": 8000, …}), got ${kind}`,
    );
  }
  return value as Record<string, unknown>;
}

/** Reads a file as UTF-8 text; throws the platform's error (with `code: 'ENOENT'` when missing). */
export type ReadTextFile = (path: string) => string;

/**
 * Read and parse a config file. Throws `ConfigError`: not found, unreadable, not JSON,
 * not an object, or (when `optionKey` is given) a file that itself sets that option.
 */
export function readConfigFile(
  path: string,
  readFile: ReadTextFile,
  optionKey = 'config',
): Record<string, unknown> {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT') throw new ConfigError(`config file ${path} not found`);
    if (code === 'EISDIR') throw new ConfigError(`config file ${path} is a directory`);
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  const file = parseConfigText(text, path);
  if (optionKey in file || flagName(optionKey) in file) {
    throw new ConfigError(`${path}: '${optionKey}' cannot be set inside a config file`);
  }
  return file;
}

/**
 * `parseOptions` for a table with a `config` option (see {@link configOption}): flags and
 * environment are read first; when they name a config file, it is read with `readFile`
 * and its settings fill in what flags and environment left unset. Precedence: flags >
 * environment > config file > defaults. Every error names the flag, variable or file and key.
 */
export function parseOptionsWithConfig<D extends OptionDefs & { config: OptionDef }>(
  defs: D,
  input: Omit<ParseInput, 'file' | 'fileName'> & { readFile: ReadTextFile },
): OptionValues<D> {
  const first = parseOptions(defs, { argv: input.argv, env: input.env });
  const path = (first as Record<string, unknown>).config;
  if (typeof path !== 'string') return first;
  const file = readConfigFile(path, input.readFile);
  return parseOptions(defs, { argv: input.argv, env: input.env, file, fileName: path });
}

/** The `--help` text for a command, from its option table. */
export function formatHelp(defs: OptionDefs, info: HelpInfo): string {
  const rows = Object.entries(defs).map(([key, def]) => {
    const flag = `${def.short != null ? `-${def.short}, ` : '    '}--${flagName(key)}${
      def.type === 'boolean' ? '' : ` ${def.placeholder ?? '<value>'}`
    }`;
    const notes: string[] = [];
    if (def.default != null && def.default !== '') {
      notes.push(
        `default: ${Array.isArray(def.default) ? def.default.join(',') || 'none' : String(def.default)}`,
      );
    }
    const env = envName(key, def);
    if (env != null) notes.push(`env ${env}`);
    return { flag, text: def.description, notes: notes.join('; ') };
  });
  const width = Math.min(Math.max(...rows.map((r) => r.flag.length), 10), 34);
  const lines = rows.flatMap((r) => {
    const head =
      r.flag.length > width
        ? [`  ${r.flag}`, `  ${''.padEnd(width)}  ${r.text}`]
        : [`  ${r.flag.padEnd(width)}  ${r.text}`];
    return r.notes ? [...head, `  ${''.padEnd(width)}  (${r.notes})`] : head;
  });
  return [
    info.summary,
    '',
    `Usage: ${info.usage}`,
    '',
    'Options:',
    ...lines,
    `  ${'-h, --help'.padEnd(width)}  show this help`,
    ...(info.examples?.length ? ['', 'Examples:', ...info.examples.map((e) => `  ${e}`)] : []),
    ...(info.footer ? ['', info.footer] : []),
  ].join('\n');
}
