/**
 * Which model the page starts on. Plain TypeScript (no runes): the entry uses it to have
 * the mesh client dial that model's node before the UI's code has run.
 */
import type { MeshModel } from '../mesh/index.js';

export const MODEL_STORAGE_KEY = 'tokenplace.model.v1';

/** The list as the picker shows it: most nodes first, then by name. */
export function sortModels(models: readonly MeshModel[]): MeshModel[] {
  return [...models].sort((a, b) => b.nodes - a.nodes || a.id.localeCompare(b.id));
}

/**
 * The user's pick while the mesh lists it; otherwise the best-served model, if any node
 * serves it (the pick itself stays remembered in case it comes back).
 */
export function startingModel(models: readonly MeshModel[], pick: string | null): string | null {
  if (pick != null && models.some((m) => m.id === pick)) return pick;
  const best = sortModels(models)[0];
  return best != null && best.nodes > 0 ? best.id : null;
}
