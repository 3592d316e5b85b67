#!/usr/bin/env node
// CLI smoke test, run by .ci/run after `npm test`: the built CLI answers --help and
// --version under the current Node, and (with --node24) under Node 24 from npm.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const cli = new URL('../dist/bin/token.place.js', import.meta.url).pathname;

function run(nodeArgs, label) {
  const out = (args) =>
    execFileSync(nodeArgs[0], [...nodeArgs.slice(1), cli, ...args], { encoding: 'utf8' });
  const v = out(['--version']).trim();
  if (v !== `token.place ${version}`) throw new Error(`${label}: --version printed '${v}'`);
  const help = out(['--help']);
  if (!help.includes('Usage: token.place <command>'))
    throw new Error(`${label}: --help is missing its usage line`);
  const runtime = execFileSync(
    nodeArgs[0],
    [...nodeArgs.slice(1), '-e', 'process.stdout.write(process.version)'],
    {
      encoding: 'utf8',
    },
  );
  console.log(`smoke ok on ${label} (${runtime}): ${v}`);
}

run([process.execPath], 'current node');
if (process.argv.includes('--node24')) {
  run(['npx', '-y', '-p', 'node@24', 'node'], 'node@24');
}
