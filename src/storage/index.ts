/** The storage layer's public surface: synchronous, thread-agnostic partition log code. */
export * from './batch-rewrite.js';
export * from './failure-points.js';
export * from './limits.js';
export * from './log-cleaner.js';
export * from './partition-log.js';
export * from './producer-state.js';
export * from './record-batch.js';
export * from './storage-error.js';
export * from './topic-config.js';
export * from './wal-checkpointer.js';
