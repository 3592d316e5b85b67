/**
 * The node's libp2p identity: an Ed25519 key kept in `<dataDir>/identity.key` (libp2p's
 * protobuf encoding, mode 0600), so the PeerId — which clients pin and verify key
 * records against — survives restarts. Back it up to keep the PeerId.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { PeerId, PrivateKey } from '@libp2p/interface';

export const IDENTITY_FILE = 'identity.key';

export class IdentityError extends Error {
  static override readonly name = 'IdentityError';
  constructor(message: string) {
    super(message);
    this.name = 'IdentityError';
  }
}

export interface Identity {
  privateKey: PrivateKey;
  peerId: PeerId;
  /** True when this start created the key. */
  created: boolean;
  path: string;
}

/** Loads the identity key from `file`, creating it (atomically, 0600) if missing. */
export async function loadIdentity(file: string): Promise<Identity> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new IdentityError(`cannot read identity key ${file}: ${(err as Error).message}`);
    }
  }
  if (bytes != null) {
    let privateKey: PrivateKey;
    try {
      privateKey = privateKeyFromProtobuf(bytes);
    } catch {
      throw new IdentityError(
        `identity key ${file} is corrupt; restore it from a backup, or delete it to start with a new PeerId`,
      );
    }
    return { privateKey, peerId: peerIdFromPrivateKey(privateKey), created: false, path: file };
  }
  const privateKey = await generateKeyPair('Ed25519');
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, privateKeyToProtobuf(privateKey), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey), created: true, path: file };
}

export function identityPath(dataDir: string): string {
  return join(dataDir, IDENTITY_FILE);
}
