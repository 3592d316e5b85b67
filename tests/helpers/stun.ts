/**
 * Test helper: the STUN binding request a browser's ICE agent sends to a WebRTC-direct
 * node (RFC 8489: USERNAME, MESSAGE-INTEGRITY, FINGERPRINT). libp2p's WebRTC-direct uses
 * one random ufrag as both ICE ufrags and as the password, so a request for a fresh
 * ufrag is what a browser dialling the node sends first.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { crc32 } from 'node:zlib';

const MAGIC_COOKIE = 0x2112a442;
const FINGERPRINT_XOR = 0x5354554e;

function attribute(type: number, value: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(value.length, 2);
  return Buffer.concat([header, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

/** A binding request for a new libp2p WebRTC-direct ufrag. */
export function stunBindingRequest(): Buffer {
  const ufrag = `libp2p+webrtc+v1/${randomBytes(16).toString('hex')}`;
  const username = attribute(0x0006, Buffer.from(`${ufrag}:${ufrag}`));
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0001, 0); // Binding request
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  randomBytes(12).copy(header, 8);
  // Each trailing attribute is computed with the length counting up to its own end.
  header.writeUInt16BE(username.length + 24, 2);
  const mac = createHmac('sha1', ufrag)
    .update(Buffer.concat([header, username]))
    .digest();
  const integrity = attribute(0x0008, mac);
  header.writeUInt16BE(username.length + 24 + 8, 2);
  const signed = Buffer.concat([header, username, integrity]);
  const fingerprint = Buffer.alloc(4);
  fingerprint.writeUInt32BE((crc32(signed) ^ FINGERPRINT_XOR) >>> 0);
  return Buffer.concat([signed, attribute(0x8028, fingerprint)]);
}

/** A free UDP port on 127.0.0.1 (free when this returns). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', resolve);
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/**
 * Sends a new binding request to `port` on 127.0.0.1 every `everyMs` until stopped.
 * `firstReply` is the first STUN message that comes back (a node's ICE agent checking
 * back, or answering), within `replyTimeoutMs`.
 */
export function sendStunRequests(
  port: number,
  everyMs = 2,
  replyTimeoutMs = 10_000,
): { stop(): number; firstReply: Promise<Buffer> } {
  const socket = createSocket('udp4');
  let sent = 0;
  const timer = setInterval(() => {
    socket.send(stunBindingRequest(), port, '127.0.0.1');
    sent++;
  }, everyMs);
  let deadline: NodeJS.Timeout | undefined;
  const firstReply = new Promise<Buffer>((resolve, reject) => {
    socket.once('message', resolve);
    deadline = setTimeout(
      () => reject(new Error(`no STUN message from port ${port}`)),
      replyTimeoutMs,
    );
  }).finally(() => clearTimeout(deadline));
  firstReply.catch(() => {}); // a caller that never asks for it has no use for its timeout
  return {
    firstReply,
    stop() {
      clearInterval(timer);
      clearTimeout(deadline);
      socket.close();
      return sent;
    },
  };
}

/** Whether `message` is a STUN message of one of `types` (e.g. 0x0001, a binding request). */
export function isStunMessage(message: Buffer, types: readonly number[]): boolean {
  return (
    message.length >= 20 &&
    message.readUInt32BE(4) === MAGIC_COOKIE &&
    types.includes(message.readUInt16BE(0))
  );
}
