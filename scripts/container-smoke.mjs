#!/usr/bin/env node
// Container smoke test, run by .ci/run (no Docker engine runs there): reads the Dockerfile,
// checks what an operator relies on (a multi-stage build on node:22-bookworm-slim with
// `npm ci` and the build, a non-root user, a /data volume, the exposed ports), then runs
// the final stage's exact ENTRYPOINT + CMD outside Docker and probes it as Docker would:
// the banner, GET /healthz, GET /metrics, the HEALTHCHECK command, and a clean exit on
// SIGTERM (`docker stop`). Also checks that compose.yaml builds this image with a named
// volume on /data and a restart policy.
//
// The substitutions that stand in for the container (the only differences):
// - the working directory (WORKDIR /app in the image) is this repository, whose dist/ and
//   node_modules/ are what the image copies (run `npm run build` first);
// - `node` is this Node.js (process.execPath);
// - every VOLUME path (/data) becomes a fresh temporary folder;
// - every EXPOSEd port becomes a free loopback port, and 0.0.0.0 becomes 127.0.0.1, as
//   `docker run -p 127.0.0.1:<free>:<port>` would map them;
// - the environment is this one without TOKENPLACE_* variables, plus the stage's ENV.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const BANNER_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

function fail(message) {
  console.error(`container smoke FAILED: ${message}`);
  process.exit(1);
}

// ---------------------------------------------------------------- Dockerfile

/** Instructions of a Dockerfile: comments dropped, continuation lines joined. */
function instructions(text) {
  const out = [];
  let current = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (current !== '' && line.startsWith('#')) continue; // comments inside a continuation
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    const match = /^(\w+)\s+([\s\S]*)$/.exec(current);
    if (match) out.push({ op: match[1].toUpperCase(), args: match[2].trim() });
    current = '';
  }
  return out;
}

/** An exec-form array (`["node", "x"]`); the shell form is refused (signals would not reach Node). */
function execForm(op, args) {
  if (!args.startsWith('[')) fail(`${op} must use the exec form ["node", …], got: ${args}`);
  const parsed = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
    fail(`${op} is not a JSON array of strings: ${args}`);
  }
  return parsed;
}

const dockerfile = instructions(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const stages = [];
for (const ins of dockerfile) {
  if (ins.op === 'FROM') stages.push({ from: ins.args, ins: [] });
  else if (stages.length > 0) stages.at(-1).ins.push(ins);
}
if (stages.length < 2) fail('the Dockerfile is not multi-stage');
const final = stages.at(-1);
const build = stages.slice(0, -1);

const image = final.from.split(/\s+/)[0];
if (!/^node:22-bookworm-slim(@sha256:[0-9a-f]+)?$/.test(image)) {
  fail(`the runtime stage is FROM ${image}, expected node:22-bookworm-slim`);
}
const runs = build.flatMap((s) => s.ins.filter((i) => i.op === 'RUN').map((i) => i.args));
if (!runs.some((r) => /\bnpm ci\b/.test(r))) fail('the build stage does not run npm ci');
if (!runs.some((r) => /\bnpm run build\b/.test(r)))
  fail('the build stage does not run npm run build');

let workdir = '/';
let user = 'root';
let entrypoint = [];
let cmd = [];
let healthcheck;
const env = {};
const exposed = [];
const volumes = [];
for (const { op, args } of final.ins) {
  if (op === 'WORKDIR') workdir = args;
  else if (op === 'USER') user = args;
  else if (op === 'ENTRYPOINT') entrypoint = execForm(op, args);
  else if (op === 'CMD') cmd = execForm(op, args);
  else if (op === 'EXPOSE') exposed.push(...args.split(/\s+/).map((p) => Number.parseInt(p, 10)));
  else if (op === 'VOLUME') {
    volumes.push(...(args.startsWith('[') ? JSON.parse(args) : args.split(/\s+/)));
  } else if (op === 'ENV') {
    const pairs = args.includes('=')
      ? args.match(/(\w+)=("[^"]*"|\S+)/g)
      : [args.replace(/\s+/, '=')];
    for (const pair of pairs ?? []) {
      const eq = pair.indexOf('=');
      env[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"|"$/g, '');
    }
  } else if (op === 'HEALTHCHECK') {
    const cmdAt = args.indexOf('CMD ');
    if (cmdAt >= 0) healthcheck = execForm('HEALTHCHECK CMD', args.slice(cmdAt + 4).trim());
  }
}
if (['root', '0', '0:0'].includes(user)) fail('the runtime stage runs as root: add USER');
if (!volumes.includes('/data')) fail('no VOLUME /data');
for (const port of [9090, 8080]) if (!exposed.includes(port)) fail(`port ${port} is not EXPOSEd`);
const command = [...entrypoint, ...cmd];
if (command.length === 0) fail('no ENTRYPOINT or CMD');
console.log(`Dockerfile: ${stages.length} stages, runtime ${image} as ${user}, WORKDIR ${workdir}`);
console.log(`  command: ${command.join(' ')}`);

// ---------------------------------------------------------------- compose.yaml

const compose = readFileSync(join(root, 'compose.yaml'), 'utf8');
const volumeMount = /^\s*-\s*['"]?([\w.-]+):\/data['"]?\s*$/m.exec(compose);
if (!/^\s*build:\s*\.\s*$/m.test(compose))
  fail('compose.yaml does not build this Dockerfile (build: .)');
if (!/^\s*restart:\s*(always|unless-stopped|on-failure)\s*$/m.test(compose)) {
  fail('compose.yaml has no restart policy');
}
if (volumeMount == null) fail('compose.yaml mounts no named volume on /data');
if (!new RegExp(`^volumes:\\s*\\n\\s+${volumeMount[1]}:`, 'm').test(compose)) {
  fail(`compose.yaml does not declare the named volume ${volumeMount[1]}`);
}
console.log(`compose.yaml: builds ., restart policy, named volume ${volumeMount[1]} on /data`);

// ---------------------------------------------------------------- run it

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const dataDir = mkdtempSync(join(tmpdir(), 'tokenplace-container-smoke-'));
const ports = new Map();
for (const port of exposed) ports.set(port, await freePort());

function substitute(arg) {
  let out = arg;
  for (const volume of volumes) {
    if (out === volume || out.startsWith(`${volume}/`)) out = dataDir + out.slice(volume.length);
  }
  for (const [inside, outside] of ports) {
    out = out
      .replace(new RegExp(`/tcp/${inside}(?=/|$)`, 'g'), `/tcp/${outside}`)
      .replace(new RegExp(`:${inside}(?=/|$)`, 'g'), `:${outside}`);
  }
  return out.replace(/\b0\.0\.0\.0\b/g, '127.0.0.1');
}

const program = (name) => (name === 'node' ? process.execPath : name);
const args = command.slice(1).map(substitute);
const childEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith('TOKENPLACE_')),
);
Object.assign(childEnv, env);
for (const rel of args.filter((a) => /^dist\//.test(a))) {
  if (!existsSync(join(root, rel))) fail(`${rel} does not exist: run npm run build first`);
}
console.log(`  runs as: ${[program(command[0]), ...args].join(' ')}`);

const child = spawn(program(command[0]), args, {
  cwd: root,
  env: childEnv,
  stdio: ['ignore', 'pipe', 'pipe'],
});
let output = '';
child.stdout.on('data', (chunk) => (output += chunk));
child.stderr.on('data', (chunk) => (output += chunk));
const exited = new Promise((resolve) =>
  child.once('exit', (code, signal) => resolve({ code, signal })),
);

async function main() {
  const started = Date.now();
  while (!output.includes('Press Ctrl-C to stop')) {
    if (child.exitCode != null) throw new Error(`it exited (${child.exitCode}) before its banner`);
    if (Date.now() - started > BANNER_TIMEOUT_MS) throw new Error('no banner within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const httpUrl = /HTTP\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
  const expectedHttp = `http://127.0.0.1:${ports.get(8080)}`;
  if (httpUrl !== expectedHttp)
    throw new Error(`banner shows HTTP ${httpUrl}, expected ${expectedHttp}`);
  if (!output.includes(`/ip4/127.0.0.1/tcp/${ports.get(9090)}/ws/p2p/`)) {
    throw new Error(`banner lacks the libp2p address on port ${ports.get(9090)}`);
  }
  console.log(`  banner after ${Date.now() - started} ms: ${httpUrl}`);

  const health = await fetch(`${httpUrl}/healthz`);
  const body = await health.json();
  if (health.status !== 200 || body.status !== 'ok' || !/^12D3KooW/.test(body.peerId ?? '')) {
    throw new Error(`/healthz answered ${health.status} ${JSON.stringify(body)}`);
  }
  console.log(`  GET /healthz: 200 ${JSON.stringify(body)}`);

  const metrics = await fetch(`${httpUrl}/metrics`);
  const text = await metrics.text();
  if (metrics.status !== 200 || !text.includes('tokenplace_relay_reservations')) {
    throw new Error(`/metrics answered ${metrics.status} without tokenplace_relay_reservations`);
  }
  console.log(
    `  GET /metrics: 200, ${text.split('\n').filter((l) => l.startsWith('tokenplace_')).length} tokenplace_* samples`,
  );

  if (healthcheck != null) {
    execFileSync(program(healthcheck[0]), healthcheck.slice(1).map(substitute), {
      cwd: root,
      env: childEnv,
      stdio: 'inherit',
      timeout: 10_000,
    });
    console.log('  HEALTHCHECK command: exit 0');
  }
  if (!existsSync(join(dataDir, 'bootstrap-identity.key'))) {
    throw new Error('no bootstrap-identity.key in the /data volume');
  }
  console.log('  /data holds bootstrap-identity.key');

  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  const { code, signal } = await exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`SIGTERM: exited with ${code ?? signal}, expected 0`);
  console.log('  SIGTERM (docker stop): exit 0');
}

try {
  await main();
  console.log('container smoke ok');
} catch (err) {
  child.kill('SIGKILL');
  console.error(output);
  fail(err.message);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
