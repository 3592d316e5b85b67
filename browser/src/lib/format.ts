/** Small display helpers: everything here is pure and locale-light. */
import type { ConnectionState, MeshModel, NodeHardware, NodeInfo } from './mesh/index.js';

/** `12D3KooWAbc…xyz` → `12D3…wxyz12`: enough to tell nodes apart; the full id goes in a title. */
export function shortPeerId(peerId: string): string {
  return peerId.length <= 14 ? peerId : `${peerId.slice(0, 4)}…${peerId.slice(-6)}`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value >= 10 || unit === 0 ? Math.round(value) : +value.toFixed(1);
  return `${shown} ${units[unit]}`;
}

export function hardwareSummary(hardware: NodeHardware): string {
  const cores = `${hardware.cpus} ${hardware.cpus === 1 ? 'core' : 'cores'}`;
  const accelerator =
    hardware.gpu == null ? hardware.backend : `${hardware.backend}, ${hardware.gpu}`;
  return `${hardware.cpuModel} (${cores}) · ${formatBytes(hardware.memoryBytes)} RAM · ${accelerator} · ${hardware.platform}/${hardware.arch}`;
}

export function loadSummary(load: NodeInfo['load']): string {
  return `${load.active} of ${load.maxConcurrency} busy · ${load.queued} queued`;
}

export function nodeCount(nodes: number): string {
  return `${nodes} ${nodes === 1 ? 'node' : 'nodes'}`;
}

export function modelDetails(model: MeshModel): string {
  const parts: string[] = [];
  if (model.family != null) parts.push(model.family);
  if (model.parameters != null) parts.push(`${formatParameters(model.parameters)} parameters`);
  if (model.quantization != null) parts.push(model.quantization);
  if (model.contextLength != null) parts.push(`${groupThousands(model.contextLength)} context`);
  return parts.join(' · ');
}

/**
 * `4096` → `4,096`. Not `toLocaleString()`: its first call loads the locale data, ~15 ms of
 * main thread while the page starts.
 */
function groupThousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function formatParameters(n: number): string {
  if (n >= 1e9) return `${+(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${+(n / 1e6).toFixed(0)}M`;
  return String(n);
}

/** The words the connection indicator shows for each state. */
export const CONNECTION_LABELS: Record<ConnectionState['kind'], string> = {
  connecting: 'connecting',
  online: 'online',
  reconnecting: 'reconnecting…',
  offline: 'offline',
};

/** A longer description of a connection state, for tooltips. */
export function connectionDetail(state: ConnectionState | null): string {
  if (state == null) return 'Starting the mesh client';
  switch (state.kind) {
    case 'connecting':
      return `Connecting to ${state.bootstrap}`;
    case 'online':
      return `Online via ${state.bootstrap}, ${state.peers} ${state.peers === 1 ? 'peer' : 'peers'}`;
    case 'reconnecting':
      return `Reconnecting to ${state.bootstrap} (attempt ${state.attempt}): ${state.lastError}`;
    case 'offline':
      return `Offline: ${state.reason}`;
  }
}

export function relativeDay(timestamp: number, now = Date.now()): string {
  const day = 24 * 60 * 60 * 1000;
  const startOfToday = new Date(now).setHours(0, 0, 0, 0);
  if (timestamp >= startOfToday) return 'Today';
  if (timestamp >= startOfToday - day) return 'Yesterday';
  if (timestamp >= startOfToday - 6 * day) return 'Previous 7 days';
  return 'Older';
}
