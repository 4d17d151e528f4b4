/**
 * MetadataLog: the cluster metadata log of one node, stored in SQLite. Lives on the main thread
 * and is owned by the controller; not thread-safe.
 *
 * Records are JSON rows keyed by offset. The database runs with synchronous=FULL: metadata
 * changes are rare and small, and a topic the controller acknowledged must survive a power loss.
 */
import Database from 'better-sqlite3';
import type { MetadataRecord } from './metadata-records.js';

export class MetadataLog {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private nextOffset: number;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec('CREATE TABLE IF NOT EXISTS records (offset INTEGER PRIMARY KEY, record TEXT NOT NULL)');
    const check = this.db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`metadata log ${path} failed its integrity check: ${String(check)}`);
    this.insert = this.db.prepare('INSERT INTO records (offset, record) VALUES (?, ?)');
    const last = this.db.prepare('SELECT MAX(offset) AS o FROM records').get() as { o: number | null };
    this.nextOffset = (last.o ?? -1) + 1;
  }

  /** Every record, in log order. */
  *replay(): Generator<MetadataRecord> {
    for (const row of this.db.prepare('SELECT record FROM records ORDER BY offset').iterate() as Iterable<{ record: string }>) {
      yield JSON.parse(row.record) as MetadataRecord;
    }
  }

  /** Appends records atomically: all of them are durable when this returns, or none. */
  append(records: readonly MetadataRecord[]): number {
    const first = this.nextOffset;
    this.db
      .transaction(() => {
        let offset = first;
        for (const r of records) this.insert.run(offset++, JSON.stringify(r));
      })
      .call(null);
    this.nextOffset = first + records.length;
    return first;
  }

  get endOffset(): number {
    return this.nextOffset;
  }

  close(): void {
    this.db.close();
  }
}
