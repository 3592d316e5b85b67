/** Test helper: a real inference node (real engine, real HTTP server) on loopback. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNodeConfig, type NodeConfig } from '../../node/config.js';
import { startNode, type RunningNode } from '../../node/node.js';

export interface TestNode extends RunningNode {
  /** Stops the node and removes its data dir. */
  dispose(): Promise<void>;
}

export async function startTestNode(overrides: Partial<NodeConfig> = {}): Promise<TestNode> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tokenplace-test-'));
  const config: NodeConfig = { ...loadNodeConfig([], {}), dataDir, apiPort: 0, ...overrides };
  const node = await startNode(config);
  return Object.assign(node, {
    dispose: async () => {
      await node.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  });
}

/** The exact answer of the built-in demo model to any chat. */
export const DEMO_ANSWER = 'Hello! I am a tiny test model.';
