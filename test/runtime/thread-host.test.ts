/**
 * ThreadHost's scheduled messages (ActorContext.schedule), in the test's own thread: a message an
 * actor schedules to itself arrives as a turn of its own, a turn that throws fails the actor at
 * once (the host reports it, so the supervisor restarts it), and nothing scheduled outlives the
 * actor or is answered to anyone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { actorKind, ok, type Actor, type ActorContext, type Outcome } from '../../src/runtime/actor.js';
import type { FromWorker } from '../../src/runtime/envelope.js';
import type { MessageOf } from '../../src/runtime/protocol.js';
import { ThreadHost } from '../../src/runtime/thread-host.js';
import { waitFor } from '../helpers/tmp.js';

type TickerProtocol = {
  GetTicks: { request: {}; reply: number };
  Tick: { request: { readonly fail: boolean }; reply: void; internal: true };
};

/** Ticks every 5 ms by scheduling itself a Tick; the tick named in `failAt` throws. */
class Ticker implements Actor<TickerProtocol> {
  ticks = 0;
  stopped = false;
  constructor(
    private readonly ctx: ActorContext<TickerProtocol>,
    private readonly failAt: number,
  ) {
    ctx.schedule({ type: 'Tick', fail: failAt === 1 }, 5);
  }
  receive(messages: readonly MessageOf<TickerProtocol>[]): Outcome[] {
    return messages.map((m) => {
      if (m.type === 'GetTicks') return ok(this.ticks);
      if (m.fail) throw new Error(`tick ${this.ticks + 1} failed`);
      this.ticks++;
      this.ctx.schedule({ type: 'Tick', fail: this.ticks + 1 === this.failAt }, 5);
      return ok(undefined);
    });
  }
  inspect(): unknown {
    return { ticks: this.ticks };
  }
  stop(): void {
    this.stopped = true;
  }
}

const hosts: ThreadHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) for (const a of await h.list()) await h.stop(a.id, 'test over');
});

function hostWith(failAt: number): { host: ThreadHost; posted: FromWorker[]; actors: Ticker[] } {
  const posted: FromWorker[] = [];
  const actors: Ticker[] = [];
  const kinds = new Map([
    [
      'ticker',
      actorKind<TickerProtocol>((ctx) => {
        const t = new Ticker(ctx, failAt);
        actors.push(t);
        return t;
      }),
    ],
  ]);
  const host = new ThreadHost(0, kinds, { post: (batch) => posted.push(...batch) });
  hosts.push(host);
  return { host, posted, actors };
}

describe('messages an actor schedules to itself', () => {
  it('arrive as turns of the actor, and nobody is answered for them', async () => {
    const { host, posted, actors } = hostWith(0);
    await host.spawn('ticker:a', 'ticker', {});
    await waitFor(() => actors[0]!.ticks >= 3, 2_000, 'three ticks');
    expect((await host.inspect('ticker:a'))?.messagesHandled).toBeGreaterThanOrEqual(3);
    expect(posted.filter((e) => e.k === 'reply')).toEqual([]);
  });

  it('a tick that throws fails the actor at once: stopped and reported, with no other message sent', async () => {
    const { host, posted, actors } = hostWith(3);
    await host.spawn('ticker:b', 'ticker', {});
    await waitFor(() => posted.some((e) => e.k === 'failed'), 2_000, 'failure reported');
    expect(posted.find((e) => e.k === 'failed')).toMatchObject({ k: 'failed', actorId: 'ticker:b', error: { message: 'tick 3 failed' } });
    expect(actors[0]!.stopped).toBe(true);
    expect(await host.list()).toEqual([]);
  });

  it('are dropped when the actor stops', async () => {
    const { host, actors } = hostWith(0);
    await host.spawn('ticker:c', 'ticker', {});
    await waitFor(() => actors[0]!.ticks >= 1, 2_000, 'one tick');
    await host.stop('ticker:c', 'test');
    const ticks = actors[0]!.ticks;
    await new Promise((r) => setTimeout(r, 30));
    expect(actors[0]!.ticks).toBe(ticks);
  });
});
