// The WebRTC-direct listener's handshake caps: at most so many handshakes at once, and
// fewer from any one address, each slot given back once when its handshake ends.
import { describe, expect, it } from 'vitest';
import {
  HandshakeGate,
  MAX_PENDING_HANDSHAKES,
  MAX_PENDING_PER_ADDRESS,
} from '../../../node/mesh/webrtc-direct.js';

describe('HandshakeGate', () => {
  it('caps handshakes per address, leaving room for other addresses', () => {
    const gate = new HandshakeGate(10, 3);
    const flood = [1, 2, 3].map(() => gate.admit('203.0.113.7'));
    expect(flood.every((done) => done != null)).toBe(true);
    expect(gate.admit('203.0.113.7')).toBeUndefined();
    expect(gate.admit('198.51.100.2')).toBeTypeOf('function');
    expect(gate.pending).toBe(4);
    expect(gate.refused).toBe(1);
  });

  it('caps handshakes overall', () => {
    const gate = new HandshakeGate(4, 3);
    for (const address of ['a', 'b', 'c', 'd']) expect(gate.admit(address)).toBeTypeOf('function');
    expect(gate.admit('e')).toBeUndefined();
    expect(gate.pending).toBe(4);
  });

  it('gives a slot back once, however often its handshake reports the end', () => {
    const gate = new HandshakeGate(2, 1);
    const done = gate.admit('a')!;
    expect(gate.admit('a')).toBeUndefined();
    done();
    done();
    expect(gate.pending).toBe(0);
    const again = gate.admit('a');
    expect(again).toBeTypeOf('function');
    expect(gate.admit('b')).toBeTypeOf('function');
    expect(gate.admit('c')).toBeUndefined(); // a second done() did not free a phantom slot
  });

  it('defaults to the documented caps', () => {
    const gate = new HandshakeGate();
    for (let i = 0; i < MAX_PENDING_PER_ADDRESS; i++) expect(gate.admit('one')).toBeDefined();
    expect(gate.admit('one')).toBeUndefined();
    for (let i = MAX_PENDING_PER_ADDRESS; i < MAX_PENDING_HANDSHAKES; i++) {
      expect(gate.admit(`other-${i}`)).toBeDefined();
    }
    expect(gate.admit('another')).toBeUndefined();
  });
});
