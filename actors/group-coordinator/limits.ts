/**
 * Every bound of the group coordinator in one place (TigerBeetle's habit). The per-node group
 * settings operators tune (session timeout range, group.max.size, retention) are in
 * src/config.ts and reach the actor through `GroupCoordinatorConfig`; these are the fixed ones.
 */
export const groupLimits = {
  /**
   * JoinGroup and SyncGroup asks one coordinator may hold open (deferred) at once. Each one keeps
   * a slot of the actor's mailbox credit (runtimeDefaults.mailboxCapacity, 1024) until the group
   * answers it, so this stays well below the credit: commits, heartbeats and other groups' joins
   * always find room. A join past it is answered COORDINATOR_NOT_AVAILABLE, which every client
   * retries after rediscovering the coordinator.
   */
  pendingJoinsMax: 768,
  /** How often the actor runs the state machine's timers (session, rebalance and pending-member deadlines). */
  tickIntervalMs: 100,
  /** How often expired offsets of empty groups are removed (Kafka offsets.retention.check.interval.ms is 10 minutes). */
  retentionCheckIntervalMs: 60_000,
  /** Longest rebalance timeout a member may ask for; a JoinGroup ask waits at most this long plus a margin. */
  rebalanceTimeoutMsMax: 600_000,
  /** Partitions one OffsetCommit request may carry. */
  commitPartitionsMax: 100_000,
  /** Bytes of a batch read at a time while replaying the log on load. */
  loadReadBytes: 4 * 1024 * 1024,
  /** Group ids longer than this are INVALID_GROUP_ID (the key must fit a log record comfortably). */
  groupIdLengthMax: 32_767,
  /** Protocols one JoinGroup may offer, and bytes of one member's metadata or assignment. */
  protocolsPerMemberMax: 64,
  memberMetadataBytesMax: 1024 * 1024,
} as const;
