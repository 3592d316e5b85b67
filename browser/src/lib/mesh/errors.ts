/**
 * Named errors of the browser's mesh layer. Callers match on `err.name`, the way
 * js-libp2p's errors work, so they survive bundling and realms.
 */

/** The mesh transport (libp2p + HPKE) is not built into this app yet, or failed to start. */
export class MeshUnavailableError extends Error {
  static override readonly name = 'MeshUnavailableError';

  constructor(message = 'mesh transport not yet available', options?: ErrorOptions) {
    super(message, options);
    this.name = 'MeshUnavailableError';
  }
}

/** The bootstrap address could not be found: bad `?bootstrap=`, or `/bootstrap.json` failed. */
export class BootstrapError extends Error {
  static override readonly name = 'BootstrapError';

  constructor(message = 'could not find the bootstrap node', options?: ErrorOptions) {
    super(message, options);
    this.name = 'BootstrapError';
  }
}

/** Not connected to any bootstrap right now (the client keeps reconnecting by itself). */
export class MeshOfflineError extends Error {
  static override readonly name = 'MeshOfflineError';

  constructor(message = 'not connected to the mesh', options?: ErrorOptions) {
    super(message, options);
    this.name = 'MeshOfflineError';
  }
}
