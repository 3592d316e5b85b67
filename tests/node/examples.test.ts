// The runnable examples in examples/ work against a real node (they need `npm run build`
// for `token.place/client`, which `npm test` runs first).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DEMO_ANSWER, startTestNode, type TestNode } from '../helpers/node.js';

const run = promisify(execFile);
let node: TestNode;

beforeAll(async () => {
  node = await startTestNode();
});
afterAll(() => node?.dispose());

describe('examples', () => {
  it('openai-chat.mjs streams an answer through the official OpenAI SDK', async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      ['examples/openai-chat.mjs', 'Hi there'],
      {
        env: { ...process.env, TOKENPLACE_BASE_URL: node.apiUrl },
      },
    );
    expect(stdout.trim()).toBe(DEMO_ANSWER);
    expect(stderr).toMatch(/\[demo: \d+ prompt \+ \d+ completion tokens\]/);
  });

  it('encrypted-client.mjs talks end to end encrypted, pinned to the node PeerId', async () => {
    const peerId = node.identity.peerId.toString();
    const { stdout } = await run(process.execPath, ['examples/encrypted-client.mjs', peerId], {
      env: { ...process.env, TOKENPLACE_BASE_URL: node.apiUrl },
    });
    expect(stdout).toContain(DEMO_ANSWER);
    expect(stdout).toContain(`sealed end to end to ${peerId}`);
  });
});
