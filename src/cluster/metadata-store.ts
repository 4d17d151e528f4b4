/**
 * MetadataStore: where the cluster metadata log, the node registrations and the controller's
 * election live. Main thread; a cluster view. Two stores implement it:
 * - LocalMetadataStore (the embedded default): the log in SQLite, this node the only node and
 *   always the controller; nothing else to run.
 * - EtcdMetadataStore (`--metadata-store etcd://...`): the log, a snapshot of the image, the
 *   registrations under leases and the controller key in etcd; every write is one etcd
 *   transaction conditional on the writer still being the controller.
 *
 * A store delivers the log to its node in order, as batches (records appended together, or a
 * snapshot that replaces the image); the node applies each before the next is delivered.
 */
import type { MetadataRecord } from './metadata-records.js';

/** A node as it registers itself: who it is, where clients and peers reach it. */
export interface NodeRegistration {
  readonly nodeId: number;
  /** New at every start: tells a restarted node from the process it replaced. */
  readonly incarnationId: string;
  readonly host: string;
  readonly port: number;
  /** The HTTP API, console and /metrics port, or -1 when off. */
  readonly httpPort: number;
  readonly rack: string | null;
  /**
   * 'starting' while the node loads (it holds its id but takes no leadership), 'alive' once it
   * serves, 'shutting-down' during a controlled shutdown (its leaderships move away).
   */
  readonly state: 'starting' | 'alive' | 'shutting-down';
}

export type MetadataBatch =
  /** Records appended together at offsets `offset`, `offset + 1`, ... */
  | { readonly kind: 'records'; readonly offset: number; readonly records: readonly MetadataRecord[] }
  /** The whole image as records, covering every offset below `offset`. */
  | { readonly kind: 'snapshot'; readonly offset: number; readonly records: readonly MetadataRecord[] };

export interface MetadataStoreListener {
  /** Applies one batch; the store delivers the next only after this settles. */
  batch(b: MetadataBatch): Promise<void>;
  /** The live nodes or the controller changed (read them from the store). */
  membershipChanged(): void;
  /** The applied image as a snapshot batch (the controller stores one now and then to bound the log). */
  snapshot(): MetadataBatch & { readonly kind: 'snapshot' };
}

export type MetadataStoreErrorCode =
  /** This node is not (or no longer) the controller: the write did not happen. */
  | 'NOT_CONTROLLER'
  /** The store did not answer in time: the write may not have happened, and nothing was applied. */
  | 'UNAVAILABLE'
  /** Another live node holds this node id. */
  | 'DUPLICATE_NODE_ID';

export class MetadataStoreError extends Error {
  override readonly name = 'MetadataStoreError';
  constructor(
    readonly code: MetadataStoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface MetadataStore {
  /** 'embedded' or the etcd endpoints, for logs, the console and `brook cluster describe`. */
  readonly description: string;
  /**
   * Claims this node's id (refused with DUPLICATE_NODE_ID while another live node holds it),
   * delivers the stored log to `listener` (awaited) and starts delivering what is appended
   * later. The registration is 'starting' until `register` says otherwise.
   */
  open(self: NodeRegistration, listener: MetadataStoreListener): Promise<void>;
  /** Updates this node's registration (its address once listening, 'alive', 'shutting-down'); campaigns for controller once alive. */
  register(self: NodeRegistration): Promise<void>;
  /** Registered nodes whose lease is live, by id. */
  liveNodes(): ReadonlyMap<number, NodeRegistration>;
  /** The elected controller's node id, or -1 while there is none. */
  controllerId(): number;
  isController(): boolean;
  /**
   * Appends records at `offset` (the caller's applied end) if this node is still the controller;
   * resolves with the end offset once the batch is durable in the store. Delivery to the
   * listener follows (the caller waits for it by offset).
   */
  append(offset: number, records: readonly MetadataRecord[]): Promise<number>;
  /** The end offset of the log as the store has it now (forwarded writes wait for it locally). */
  committedEnd(): Promise<number>;
  /** Gives up controllership (a controlled shutdown) so another node takes over at once. */
  resign(): Promise<void>;
  /** Deregisters (the lease revoked) and closes. */
  close(): Promise<void>;
}
