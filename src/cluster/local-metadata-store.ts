/**
 * LocalMetadataStore: the embedded default. The metadata log is a SQLite file in the data dir
 * (MetadataLog); this node is the only node and always the controller. Main thread.
 */
import { join } from 'node:path';
import { MetadataLog } from './metadata-log.js';
import type { MetadataRecord } from './metadata-records.js';
import { MetadataStoreError, type MetadataStore, type MetadataStoreListener, type NodeRegistration } from './metadata-store.js';

export class LocalMetadataStore implements MetadataStore {
  readonly description = 'embedded';
  private readonly log: MetadataLog;
  private listener: MetadataStoreListener | undefined;
  private self: NodeRegistration | undefined;

  constructor(dataDir: string) {
    this.log = new MetadataLog(join(dataDir, 'cluster-metadata.db'));
  }

  async open(self: NodeRegistration, listener: MetadataStoreListener): Promise<void> {
    this.self = self;
    this.listener = listener;
    const records = [...this.log.replay()];
    if (records.length > 0) await listener.batch({ kind: 'records', offset: 0, records });
  }

  register(self: NodeRegistration): Promise<void> {
    this.self = self;
    this.listener?.membershipChanged();
    return Promise.resolve();
  }

  liveNodes(): ReadonlyMap<number, NodeRegistration> {
    return this.self ? new Map([[this.self.nodeId, this.self]]) : new Map();
  }

  controllerId(): number {
    return this.self?.nodeId ?? -1;
  }

  isController(): boolean {
    return this.self !== undefined;
  }

  async append(offset: number, records: readonly MetadataRecord[]): Promise<number> {
    if (!this.listener) throw new MetadataStoreError('NOT_CONTROLLER', 'the metadata store is not open');
    if (offset !== this.log.endOffset) throw new Error(`metadata log: append at ${offset}, but the log ends at ${this.log.endOffset}`);
    this.log.append(records);
    await this.listener.batch({ kind: 'records', offset, records });
    return this.log.endOffset;
  }

  committedEnd(): Promise<number> {
    return Promise.resolve(this.log.endOffset);
  }

  resign(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.log.close();
    return Promise.resolve();
  }
}
