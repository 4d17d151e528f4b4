/**
 * The records of the cluster metadata log, in Brook's own form (after Kafka's KRaft metadata
 * records). Every change to topics, partitions, configs, brokers and producer-id allocation is
 * one of these, appended to the log and then applied to the in-memory image; replaying the log
 * rebuilds the image. Plain data, so a record can cross threads and, later, nodes.
 */

export type ConfigResourceType = 'topic' | 'broker';

export type MetadataRecord =
  /** The first record of a new cluster's log: its id, as Kafka's cluster.id (22 characters of URL-safe base64). */
  | { readonly type: 'Cluster'; readonly clusterId: string }
  | { readonly type: 'RegisterBroker'; readonly nodeId: number; readonly host: string; readonly port: number; readonly rack: string | null }
  | { readonly type: 'Topic'; readonly name: string; readonly topicId: string }
  | {
      readonly type: 'Partition';
      readonly topicId: string;
      readonly partition: number;
      readonly replicas: readonly number[];
      readonly isr: readonly number[];
      readonly leader: number;
      readonly leaderEpoch: number;
      /**
       * Rises with every change of the partition's leader, ISR or replicas (KIP-497's partition
       * epoch): an AlterPartition naming an older one is refused. Absent in records written before
       * replication, which read as 0.
       */
      readonly partitionEpoch?: number;
      /**
       * A reassignment under way (KIP-455): replicas joining (catching up, not yet all in the
       * ISR) and replicas leaving once they have. `replicas` then holds the target replicas
       * first, then the removing ones. Absent (or empty) when no reassignment is under way.
       */
      readonly addingReplicas?: readonly number[];
      readonly removingReplicas?: readonly number[];
    }
  | { readonly type: 'RemoveTopic'; readonly topicId: string }
  /** Sets (value) or removes (null) one config of a topic or of the broker (resourceName '' = cluster default). */
  | { readonly type: 'Config'; readonly resourceType: ConfigResourceType; readonly resourceName: string; readonly name: string; readonly value: string | null }
  /** Producer ids below `nextProducerId` have been handed out (Kafka's ProducerIdsRecord). */
  | { readonly type: 'ProducerIds'; readonly nextProducerId: number };
