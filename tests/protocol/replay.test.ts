import { describe, expect, it } from 'vitest';
import { ReplayGuard } from '../../protocol/replay.js';

describe('ReplayGuard', () => {
  it('accepts fresh ids once and refuses repeats', () => {
    let now = 1_000_000;
    const guard = new ReplayGuard({ now: () => now, maxSkewMs: 1000 });
    guard.check('a', now);
    guard.check('b', now + 10);
    expect(() => guard.check('a', now)).toThrow(
      expect.objectContaining({ name: 'ReplayedRequestError' }),
    );
    now += 500;
    expect(() => guard.check('b', now - 490)).toThrow(
      expect.objectContaining({ name: 'ReplayedRequestError' }),
    );
  });

  it('stays bounded and never lets an evicted id back in', () => {
    const now = 5_000_000;
    const guard = new ReplayGuard({ now: () => now, maxSkewMs: 60_000, maxEntries: 100 });
    for (let i = 0; i < 1000; i++) guard.check(`id-${i}`, now - 50_000 + i);
    expect(guard.size).toBe(100);
    // id-0 was evicted long ago; replaying it (same timestamp) must still fail.
    expect(() => guard.check('id-0', now - 50_000)).toThrow(
      expect.objectContaining({ name: 'StaleRequestError' }),
    );
    // A newer, never-seen id is fine.
    guard.check('fresh', now);
  });

  it('forgets ids whose timestamps have left the clock window', () => {
    let now = 10_000;
    const guard = new ReplayGuard({ now: () => now, maxSkewMs: 1000 });
    guard.check('x', now);
    now += 5000;
    guard.check('y', now);
    expect(guard.size).toBe(1);
    expect(() => guard.check('x', 10_000)).toThrow(
      expect.objectContaining({ name: 'StaleRequestError' }),
    );
  });
});
