/**
 * The boundary between the chat UI and the mesh. The UI only ever talks to a
 * `MeshClient`; the real one (libp2p: WebSockets + WebRTC + circuit relay, HPKE via
 * protocol/) implements exactly this interface.
 */

export type ConnectionState =
  | { kind: 'connecting'; bootstrap: string }
  | { kind: 'online'; bootstrap: string; peers: number }
  | { kind: 'reconnecting'; bootstrap: string; attempt: number; lastError: string }
  | { kind: 'offline'; bootstrap: string; reason: string };

export interface MeshModel {
  id: string;
  /** How many nodes currently serve it. */
  nodes: number;
  family?: string;
  parameters?: number;
  quantization?: string;
  contextLength?: number;
}

export interface NodeHardware {
  platform: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  backend: string;
  gpu: string | null;
}

/** The node answering a chat, as verified by the client. */
export interface NodeInfo {
  peerId: string;
  /** HPKE key fingerprint (`ab12 cd34 …`) from a key record verified against the PeerId Noise authenticated. */
  fingerprint: string;
  verified: boolean;
  transport: 'direct WebRTC' | 'relayed' | 'WebSocket';
  /**
   * How a direct WebRTC connection was set up: `WebRTC-direct` (the node's UDP port, in
   * one step) or `signalled through the relay` (for nodes behind a NAT).
   */
  route?: 'WebRTC-direct' | 'signalled through the relay';
  hardware: NodeHardware;
  load: { active: number; queued: number; maxConcurrency: number };
}

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatTurn[];
  temperature?: number;
  maxTokens?: number;
}

export type ChatUpdate =
  /** The node chosen to answer (sent again if a retry moves to another node). */
  | { type: 'node'; node: NodeInfo }
  /** A piece of the answer, in order. */
  | { type: 'token'; text: string }
  /** The node dropped mid-answer; the client retries on another node. Discard partial text. */
  | { type: 'retry'; reason: string }
  | {
      type: 'done';
      finishReason: 'stop' | 'length' | 'aborted';
      usage?: { promptTokens: number; completionTokens: number };
    }
  | {
      type: 'error';
      kind: 'no-nodes' | 'node-failed' | 'offline' | 'bad-request' | 'other';
      message: string;
    };

export interface MeshClient {
  /** Current connection state; `subscribe` is called with every change (and at once). */
  readonly state: ConnectionState;
  subscribe(listener: (state: ConnectionState) => void): () => void;
  /** Models in the mesh, with how many nodes serve each. */
  listModels(options?: { signal?: AbortSignal }): Promise<MeshModel[]>;
  /**
   * Optional: the models already known without asking anyone (the bootstrap's directory
   * snapshot), so the page can list them while it still connects to the relay.
   */
  knownModels?(): MeshModel[];
  /**
   * Optional: connect ahead to the best node of `model` (the one picked in the UI), so the
   * first answer does not wait for the WebRTC set-up. Never throws; safe to call often.
   */
  prepare?(model: string, options?: { signal?: AbortSignal }): void;
  /**
   * Optional: try the node `peerId` only after every other node of a model for a while
   * (a minute): the user gave up waiting on it and asked for another node.
   */
  avoid?(peerId: string): void;
  /** Streams one answer. Aborting `signal` closes the stream: the node stops generating. */
  chat(request: ChatRequest, options: { signal: AbortSignal }): AsyncGenerator<ChatUpdate>;
  close(): Promise<void>;
}
