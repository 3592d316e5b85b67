/**
 * The models the mesh offers, how many nodes serve each, and the one the user picked
 * (remembered across visits).
 */
import type { MeshClient, MeshModel } from '../mesh/index.js';
import { MODEL_STORAGE_KEY, sortModels, startingModel } from './model-pick.js';
import { browserStorage, readItem, writeItem } from './safe-storage.js';

export { MODEL_STORAGE_KEY };

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
  /** When the list last arrived (`performance.now()`), or null. */
  #listedAt: number | null = null;

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
      this.show(models);
    } catch (err) {
      if (signal?.aborted === true) return;
      this.error = err instanceof Error && err.message !== '' ? err.message : String(err);
    } finally {
      this.loading = false;
    }
  }

  /** Shows a list (from the directory, or its snapshot). */
  show(models: readonly MeshModel[]): void {
    this.models = sortModels(models);
    this.loaded = true;
    this.#listedAt = performance.now();
    this.error = null;
    // Nothing picked yet, or the pick left the mesh: take the best-served model, but
    // keep remembering the user's own pick in case it comes back.
    if (this.selected == null) {
      const start = startingModel(this.models, null);
      if (start != null) this.selectedId = start;
    }
  }

  /** True when a list arrived less than `ms` ago. */
  listedWithin(ms: number): boolean {
    return this.#listedAt != null && performance.now() - this.#listedAt < ms;
  }

  select(id: string): void {
    this.selectedId = id;
    writeItem(this.#storage, MODEL_STORAGE_KEY, id);
  }
}
