/**
 * NodeProbe: the node's own metrics (main thread), refreshed at each scrape from the supervisor
 * and, over the control plane, from every worker thread: partitions, actors' mailbox depth and
 * restarts, and each thread's event-loop utilisation. Names follow Redpanda and kafka_exporter.
 */
import { Gauge, type Registry } from 'prom-client';
import type { BrookNode } from './node.js';

export class NodeProbe {
  private readonly partitions: Gauge;
  private readonly underReplicated: Gauge;
  private readonly mailboxDepth: Gauge<'actor' | 'kind' | 'thread'>;
  private readonly restarts: Gauge<'actor' | 'kind'>;
  private readonly elu: Gauge<'thread'>;
  private readonly threads: Gauge;

  constructor(registry: Registry, private readonly node: BrookNode) {
    const registers = [registry];
    this.partitions = new Gauge({ name: 'brook_kafka_partitions', help: 'Partitions led by this node', registers });
    this.underReplicated = new Gauge({ name: 'brook_kafka_under_replicated_partitions', help: 'Partitions whose ISR is smaller than their replica set', registers });
    this.mailboxDepth = new Gauge({ name: 'brook_actor_mailbox_depth', help: 'Messages queued for an actor (in flight to it plus waiting on the main thread)', labelNames: ['actor', 'kind', 'thread'], registers });
    this.restarts = new Gauge({ name: 'brook_actor_restarts_total', help: 'Times the supervisor restarted an actor', labelNames: ['actor', 'kind'], registers });
    this.elu = new Gauge({ name: 'brook_thread_event_loop_utilization', help: 'Event-loop utilisation of a worker thread since the previous scrape (0..1)', labelNames: ['thread'], registers });
    this.threads = new Gauge({ name: 'brook_worker_threads', help: 'Live worker threads', registers });
  }

  async refresh(): Promise<void> {
    const { image } = this.node.controller;
    let partitions = 0;
    let under = 0;
    for (const t of image.topicsByName.values()) {
      for (const p of t.partitions) {
        if (p.leader !== this.node.config.nodeId) continue;
        partitions++;
        if (p.isr.length < p.replicas.length) under++;
      }
    }
    this.partitions.set(partitions);
    this.underReplicated.set(under);
    this.mailboxDepth.reset();
    this.restarts.reset();
    for (const a of this.node.supervisor.listActors()) {
      this.mailboxDepth.set({ actor: a.id, kind: a.kind, thread: String(a.threadIndex ?? -1) }, a.inFlight + a.waiting);
      this.restarts.set({ actor: a.id, kind: a.kind }, a.restarts);
    }
    const threads = await this.node.supervisor.threads();
    this.elu.reset();
    this.threads.set(threads.length);
    for (const t of threads) this.elu.set({ thread: String(t.stats.threadIndex) }, t.stats.eventLoopUtilization);
  }
}
