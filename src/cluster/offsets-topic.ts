/**
 * `__consumer_offsets` as the cluster sees it: its name and which of its partitions a group's
 * coordinator owns. Used on the main thread (routing to coordinators, creating the topic,
 * spawning coordinators) and by anyone who needs Kafka's mapping; the coordinator actors
 * themselves never need it, since each is handed its partition.
 */

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Kafka's group coordinator partition of a group: Utils.abs(groupId.hashCode) % partitions. */
export function groupPartition(groupId: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < groupId.length; i++) h = (Math.imul(h, 31) + groupId.charCodeAt(i)) | 0;
  return (h & 0x7fffffff) % partitions;
}
