/**
 * The models the mesh offers, how many nodes serve each, and the one the user picked
 * (remembered across visits).
 */
import type { MeshClient, MeshModel } from '../mesh/index.js';
import { browserStorage, readItem, writeItem } from './safe-storage.js';

export const MODEL_STORAGE_KEY = 'tokenplace.model.v1';

export interface ModelsStoreOptions {
  /** @default the page's localStorage */
  storage?: Storage | null;
}

export class ModelsStore {
  models = $state.raw<MeshModel[]>([]);
  /** The user's pick; may name a model the mesh does not list right now. */
  selectedId = $state<string | null>(null);
  loading = $state(false);
  /** True once a list has arrived. */
  loaded = $state(false);
  error = $state<string | null>(null);

  readonly selected = $derived(this.models.find((m) => m.id === this.selectedId) ?? null);
  /** The pick is known and no node serves it right now. */
  readonly unserved = $derived(
    this.loaded && this.selectedId != null && (this.selected?.nodes ?? 0) === 0,
  );

  readonly #storage: Storage | null;

  constructor(options: ModelsStoreOptions = {}) {
    this.#storage = options.storage === undefined ? browserStorage() : options.storage;
    this.selectedId = readItem(this.#storage, MODEL_STORAGE_KEY);
  }

  /** Fetches the list. Keeps the last good list if this fetch fails. */
  async refresh(client: MeshClient, signal?: AbortSignal): Promise<void> {
    this.loading = true;
    try {
      const models = await client.listModels(signal == null ? {} : { signal });
      if (signal?.aborted === true) return;
      this.models = [...models].sort((a, b) => b.nodes - a.nodes || a.id.localeCompare(b.id));
      this.loaded = true;
      this.error = null;
      // Nothing picked yet, or the pick left the mesh: take the best-served model, but
      // keep remembering the user's own pick in case it comes back.
      if (this.selected == null) {
        const best = this.models[0];
        if (best != null && best.nodes > 0) this.selectedId = best.id;
      }
    } catch (err) {
      if (signal?.aborted === true) return;
      this.error = err instanceof Error && err.message !== '' ? err.message : String(err);
    } finally {
      this.loading = false;
    }
  }

  select(id: string): void {
    this.selectedId = id;
    writeItem(this.#storage, MODEL_STORAGE_KEY, id);
  }
}
