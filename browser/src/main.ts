/**
 * Entry of the token.place web chat: finds the bootstrap node, creates the mesh client
 * and mounts the page. The page shows start-up failures itself (with "Try again").
 *
 * Loopback/LAN relaxations (dial `ws://` and private addresses, no STUN) apply only when
 * the page's own bootstrap announces a private mesh, or in a dev/test build (`vite` dev
 * server, `vite build --mode test`); a production build keeps libp2p's browser defaults.
 */
import '../../protocol/compat.js';
import './app.css';
import { mount } from 'svelte';
import App from './App.svelte';
import { createMeshClient, preloadMeshClient, resolveBootstrap } from './lib/mesh/index.js';
import type { MeshClient } from './lib/mesh/index.js';

const DEV_BUILD = import.meta.env.MODE !== 'production';

async function connect(signal: AbortSignal): Promise<MeshClient> {
  preloadMeshClient(); // fetch the libp2p chunk while bootstrap.json is on its way
  const { multiaddrs, allowPrivateAddresses } = await resolveBootstrap(window.location, {
    signal,
  });
  return createMeshClient({
    bootstrap: multiaddrs,
    allowPrivateAddresses: allowPrivateAddresses || DEV_BUILD,
    signal,
  });
}

const target = document.getElementById('app');
if (target == null) throw new Error('token.place: index.html has no #app element');

export default mount(App, { target, props: { connect } });
