// Brook's TypeScript client: Producer, Consumer and Admin over Brook's protocol codec.
export { Producer, type ProducerOptions, type ProducerMessage, type ProducerRecord, type ProducerSettings, type RecordMetadata } from './producer.js';
export { Consumer, type ConsumerOptions, type ConsumerRecord, type ConsumerSettings, type Batch, type RunOptions } from './consumer.js';
export {
  Admin,
  type NewTopic,
  type ConfigEntry,
  type ConfigResourceResult,
  type ConfigResourceType,
  type GroupDescription,
  type GroupMemberDescription,
  type ClusterDescription,
  type OffsetSpec,
  type PartitionOutcome,
  type PartitionReassignment,
  type ElectionType,
} from './admin.js';
export { type ClientOptions, type BrokerInfo, type TopicInfo, type PartitionInfo } from './cluster.js';
export { KafkaClientError, KafkaProtocolError, ConnectionError, TimeoutError, ClientClosedError, InvalidArgumentError } from './errors.js';
export { murmur2, partitionForKey, defaultPartitioner, type Partitioner, type PartitionerInput } from './partitioner.js';
export { rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor, type Assignor, type AssignorName } from './assignors.js';
export { type TopicPartition, type PartitionOffset, type CommittedOffset } from './offsets.js';
export { type RecordHeader, type HeadersInput } from './record-batch.js';
