/**
 * The bootstrap's libp2p identity: an Ed25519 key kept in
 * `<dataDir>/bootstrap-identity.key` (libp2p's protobuf encoding, mode 0600, written
 * atomically), so its PeerId — and with it every multiaddr that nodes, browsers and
 * other bootstraps have configured — survives restarts. Back the file up to keep them.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { PeerId, PrivateKey } from '@libp2p/interface';

export const BOOTSTRAP_IDENTITY_FILE = 'bootstrap-identity.key';

export class BootstrapIdentityError extends Error {
  static override readonly name = 'BootstrapIdentityError';
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapIdentityError';
  }
}

export interface BootstrapIdentity {
  privateKey: PrivateKey;
  peerId: PeerId;
  /** True when this start created the key. */
  created: boolean;
  path: string;
}

export function bootstrapIdentityPath(dataDir: string): string {
  return join(dataDir, BOOTSTRAP_IDENTITY_FILE);
}

/** Loads the identity key from `file`, creating it (atomically, 0600) if missing. */
export async function loadBootstrapIdentity(file: string): Promise<BootstrapIdentity> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new BootstrapIdentityError(
        `cannot read identity key ${file}: ${(err as Error).message}`,
      );
    }
  }
  if (bytes != null) {
    let privateKey: PrivateKey;
    try {
      privateKey = privateKeyFromProtobuf(bytes);
    } catch {
      throw new BootstrapIdentityError(
        `identity key ${file} is corrupt; restore it from a backup, or delete it to start with a new PeerId (every configured multiaddr of this bootstrap then changes)`,
      );
    }
    return { privateKey, peerId: peerIdFromPrivateKey(privateKey), created: false, path: file };
  }
  const privateKey = await generateKeyPair('Ed25519');
  await mkdir(dirname(file), { recursive: true });
  // Write a private temp file, then rename: a crash never leaves a half-written key, and
  // the key is never readable by others, not even for a moment.
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, privateKeyToProtobuf(privateKey), { mode: 0o600, flag: 'wx' });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new BootstrapIdentityError(
      `cannot write identity key ${file}: ${(err as Error).message}`,
    );
  }
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey), created: true, path: file };
}
