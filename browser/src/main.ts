/**
 * Entry of the token.place web chat: finds the bootstrap node, creates the mesh client
 * and mounts the page. The page shows start-up failures itself (with "Try again").
 *
 * The mesh client starts first: its chunk runs, its libp2p peer starts and dials a node
 * (from the bootstrap's directory snapshot), then the relay, before the UI's code runs,
 * so the page's own start-up overlaps the network's round trips. Until then index.html
 * shows a static shell.
 *
 * Loopback/LAN relaxations (dial `ws://` and private addresses, no STUN) apply only when
 * the page's own bootstrap announces a private mesh, or in a dev/test build (`vite` dev
 * server, `vite build --mode test`); a production build keeps libp2p's browser defaults.
 */
import '../../protocol/compat.js';
import './app.css';
import { createMeshClient, preloadMeshClient, resolveBootstrap } from './lib/mesh/index.js';
import type { MeshClient } from './lib/mesh/index.js';
import { MODEL_STORAGE_KEY, startingModel } from './lib/state/model-pick.js';
import { browserStorage, readItem } from './lib/state/safe-storage.js';

const DEV_BUILD = import.meta.env.MODE !== 'production';

async function connect(signal: AbortSignal): Promise<MeshClient> {
  preloadMeshClient(); // fetch the libp2p chunk while bootstrap.json is on its way
  const { multiaddrs, allowPrivateAddresses, directory } = await resolveBootstrap(window.location, {
    signal,
  });
  return createMeshClient({
    bootstrap: multiaddrs,
    allowPrivateAddresses: allowPrivateAddresses || DEV_BUILD,
    ...(directory !== undefined ? { directory } : {}),
    // Dial the node of the model the page will start on (as the model picker will choose
    // it) now, ahead of the relay, while the UI loads.
    prepare: (known) => startingModel(known, readItem(browserStorage(), MODEL_STORAGE_KEY)),
    signal,
  });
}

const target = document.getElementById('app');
if (target == null) throw new Error('token.place: index.html has no #app element');

// The first connection, started now; the app takes it over (and aborts it if it must).
const firstAttempt = new AbortController();
const first = connect(firstAttempt.signal);
// libp2p's peer store sorts with String#localeCompare as the peer starts, and the first
// call in a page sets up ICU's collator: ~20 ms of main thread (measured in headless
// Chromium here) on the way to the first answer. Paid now instead, while bootstrap.json
// and the client's chunk are on their way and the main thread would wait anyway.
'a'.localeCompare('b');
let firstTaken = false;
function connectOnce(signal: AbortSignal): Promise<MeshClient> {
  if (firstTaken) return connect(signal);
  firstTaken = true;
  signal.addEventListener('abort', () => firstAttempt.abort(signal.reason), { once: true });
  return first;
}

// The UI's code runs once the client is up (or failed: the page then shows why).
await first.catch(() => {});
const [{ mount }, { default: App }] = await Promise.all([import('svelte'), import('./App.svelte')]);
target.replaceChildren();
export default mount(App, { target, props: { connect: connectOnce } });
