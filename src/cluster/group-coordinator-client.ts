/**
 * GroupCoordinatorClient: how the main thread reaches a consumer group's coordinator (Kafka
 * gateway's group handlers, HTTP gateway's group views). Lives on the main thread; a node view.
 * It owns routing (the group maps to a `__consumer_offsets` partition as in Kafka, and that
 * partition's actor is the coordinator: COORDINATOR_NOT_AVAILABLE before the topic exists,
 * NOT_COORDINATOR when another node leads it), the ask (typed by GroupCoordinatorProtocol,
 * through ActorAsks), and the mapping of failures to Kafka error codes.
 *
 * Asks never reject: a result is a reply or a Kafka error code.
 */
import type { GroupCoordinatorProtocol } from '../../actors/group-coordinator/messages.js';
import type { KafkaErrorName } from '../protocol/errors.js';
import type { ActorAddress, AskableType, MessageOf, ReplyOf } from '../runtime/protocol.js';
import type { ActorAsks, AskOptions } from './actor-asks.js';
import { coordinatorErrorOf, refused, type AskResult } from './actor-errors.js';
import type { MetadataImage } from './metadata-image.js';
import { groupPartition, OFFSETS_TOPIC } from './offsets-topic.js';
import { partitionActorId, type RoutingTable } from './routing-table.js';

export type CoordinatorAddress = ActorAddress<GroupCoordinatorProtocol>;

export type CoordinatorRoute =
  | { readonly ok: true; readonly address: CoordinatorAddress; readonly partition: number }
  | { readonly ok: false; readonly error: Extract<KafkaErrorName, 'COORDINATOR_NOT_AVAILABLE' | 'NOT_COORDINATOR'> };

/** A message any caller may ask a coordinator, of type `K`. */
export type CoordinatorAsk<K extends AskableType<GroupCoordinatorProtocol>> = MessageOf<GroupCoordinatorProtocol, K>;

export class GroupCoordinatorClient {
  constructor(
    private readonly asks: ActorAsks,
    private readonly routes: RoutingTable,
    private readonly image: MetadataImage,
  ) {}

  /** The coordinator of a group, or why there is none on this node. */
  route(groupId: string): CoordinatorRoute {
    const topic = this.image.topicsByName.get(OFFSETS_TOPIC);
    if (!topic || topic.partitions.length === 0) return { ok: false, error: 'COORDINATOR_NOT_AVAILABLE' };
    const partition = groupPartition(groupId, topic.partitions.length);
    const route = this.routes.leader(OFFSETS_TOPIC, partition);
    if (!route.ok) return { ok: false, error: route.error === 'NOT_LEADER_OR_FOLLOWER' ? 'NOT_COORDINATOR' : 'COORDINATOR_NOT_AVAILABLE' };
    return { ok: true, address: coordinatorAt(route.address.nodeId, route.address.actorId), partition };
  }

  /** Every coordinator this node hosts (ListGroups asks them all). */
  local(): CoordinatorAddress[] {
    const topic = this.image.topicsByName.get(OFFSETS_TOPIC);
    if (!topic) return [];
    const nodeId = this.asks.localNodeId;
    return topic.partitions.filter((p) => p.leader === nodeId).map((p) => coordinatorAt(nodeId, partitionActorId(OFFSETS_TOPIC, p.partition)));
  }

  /** Routes the group, then asks its coordinator. */
  ask<K extends AskableType<GroupCoordinatorProtocol>>(groupId: string, msg: CoordinatorAsk<K>, opts?: AskOptions): Promise<AskResult<ReplyOf<GroupCoordinatorProtocol, K>>> {
    const route = this.route(groupId);
    if (!route.ok) return Promise.resolve(refused(route.error));
    return this.askAt(route.address, msg, opts);
  }

  /** Asks a coordinator already routed (a request that groups its ids by coordinator). */
  async askAt<K extends AskableType<GroupCoordinatorProtocol>>(
    address: CoordinatorAddress,
    msg: CoordinatorAsk<K>,
    opts?: AskOptions,
  ): Promise<AskResult<ReplyOf<GroupCoordinatorProtocol, K>>> {
    try {
      return { ok: true, value: await this.asks.ask(address, msg, opts) };
    } catch (err) {
      return { ok: false, ...coordinatorErrorOf(err) };
    }
  }
}

/**
 * A coordinator's address. The routing table knows `__consumer_offsets` partitions as
 * partitions; the actor leading one is a coordinator (PartitionManager spawns it so), which
 * answers the partition's messages too.
 */
function coordinatorAt(nodeId: number, actorId: string): CoordinatorAddress {
  return { nodeId, actorId };
}
