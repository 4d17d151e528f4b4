/**
 * The one path by which the main thread asks an actor (main thread; a node view that will grow
 * a cluster view). The clients per actor kind (PartitionClient, GroupCoordinatorClient) route,
 * then ask through here; the console's raw "send any message" route does too.
 *
 * An address names its node. An actor on this node is asked through the supervisor; an actor
 * on another node would be asked through a transport to that node with the same signature
 * (the envelope already carries only plain data and transferable buffers), so callers do not
 * change when replicas on other nodes arrive. Until then, an address on another node fails as
 * a restarting actor does (ACTOR_UNAVAILABLE), which each client maps to a retriable Kafka
 * error; routing never produces one today.
 */
import { RuntimeError } from '../runtime/errors.js';
import type { ActorAddress, AskableType, MessageOf, Protocol, ReplyOf } from '../runtime/protocol.js';
import type { AskOptions, Supervisor } from '../runtime/supervisor.js';

export type { AskOptions };

export class ActorAsks {
  constructor(
    private readonly nodeId: number,
    private readonly local: Supervisor,
  ) {}

  /** This node's id: addresses of actors it hosts carry it. */
  get localNodeId(): number {
    return this.nodeId;
  }

  /** The address of an actor on this node. */
  addressOf<P extends Protocol>(actorId: string): ActorAddress<P> {
    return { nodeId: this.nodeId, actorId };
  }

  /** Asks `to` one message of its protocol; rejects with a RuntimeError or the actor's own error. */
  ask<P extends Protocol, K extends AskableType<P>>(to: ActorAddress<P>, msg: MessageOf<P, K>, opts?: AskOptions): Promise<ReplyOf<P, K>> {
    if (to.nodeId !== this.nodeId) return Promise.reject(remoteUnsupported(to.actorId, to.nodeId));
    return this.local.ask(to, msg, opts);
  }

  /**
   * Asks a message the caller could not type (the console's debugging route, which checks the
   * message type by name against the actor kind's protocol). Same path, same bounds.
   */
  askUnchecked(to: ActorAddress<Protocol>, msg: { readonly type: string }, opts?: AskOptions): Promise<unknown> {
    if (to.nodeId !== this.nodeId) return Promise.reject(remoteUnsupported(to.actorId, to.nodeId));
    return this.local.askUnchecked(to.actorId, msg, opts);
  }
}

function remoteUnsupported(actorId: string, nodeId: number): RuntimeError {
  return new RuntimeError('ACTOR_UNAVAILABLE', `actor ${actorId} is on node ${nodeId}; asks to other nodes are not supported yet`);
}
