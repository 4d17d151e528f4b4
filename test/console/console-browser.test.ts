/**
 * The web console end to end in a real browser (Debian's chromium driven by playwright-core):
 * actors per thread, each thread card's own CPU figure (a busy thread against an idle one), a
 * topic created from the console, a record produced with kafkajs found in the message browser
 * and in the live tail, a worker thread added with actors moving to it, a failure point switched
 * on until the supervisor restarts the actor, and the actors table whole at 1400 px. Runs in
 * the test process's main thread against an embedded broker. Screenshots go to
 * test/console/screenshots/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';

const chromiumPath = '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
if (!haveChromium) console.warn(`console browser tests skipped: ${chromiumPath} is missing (install the Debian package chromium)`);
const shots = join(import.meta.dirname, 'screenshots');

let broker: EmbeddedBroker;
let browser: Browser;
let page: Page;
let producer: Producer;
let kafka: Kafka;
let base: string;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

async function open(hash: string): Promise<void> {
  await page.goto(`${base}/#/${hash}`);
  await page.waitForSelector(`main[data-ready]`);
}

describe.skipIf(!haveChromium)('web console in chromium', () => {
  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    broker = await startBroker({ logLevel: 'silent', workers: 2 });
    base = `http://127.0.0.1:${broker.node.httpPort}`;
    kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
    producer = kafka.producer();
    await producer.connect();
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('dialog', (d) => void d.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await producer?.disconnect();
    await broker?.stop();
  });

  it('shows the node and its actors per worker thread, and how many partition logs are open', async () => {
    // Partitions open on their first request (until then they are passivated, on no thread).
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'console-spread', numPartitions: 8 }], waitForLeaders: true });
    await admin.disconnect();
    await producer.send({ topic: 'console-spread', messages: Array.from({ length: 8 }, (_, partition) => ({ partition, value: 'x' })) });
    await open('overview');
    await page.waitForSelector('.thread[data-thread="1"]');
    expect(await page.locator('.thread').count()).toBe(2);
    // Each thread hosts its share of the 8 partitions just opened.
    expect(await page.locator('.thread[data-thread="0"] .chip').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('.thread[data-thread="1"] .chip').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('.card', { hasText: 'Partition logs open' }).innerText()).toMatch(/\d+ of at most \d+ · \d+ passivated/);
    await shot('overview');
  });

  it('shows the cluster: this node as the live controller, and each partition with its leader node and worker thread', async () => {
    await open('cluster');
    const row = page.locator('#cluster-nodes-table tr[data-node="0"]');
    await row.waitFor();
    expect(await row.innerText()).toMatch(/alive\s+yes/);
    // Every __consumer_offsets partition is led by node 0; an open partition's actor runs on thread 0 or 1.
    const rows = page.locator('#cluster-placement-table tbody tr', { hasText: '__consumer_offsets' });
    expect(await rows.count()).toBe(50);
    expect(await rows.first().innerText()).toMatch(/node 0/);
    const opened = page.locator('#cluster-placement-table tbody tr', { hasText: 'console-spread' });
    expect(await opened.first().innerText()).toMatch(/node 0\s+thread [01]/);
    // Replicas, ISR and status per partition; the cards count under-replicated and offline partitions.
    const p0 = page.locator('#cluster-placement-table tr[data-topic="console-spread"][data-partition="0"]');
    expect(await p0.innerText()).toMatch(/\t0\s+0\s+ok$/);
    expect(await page.locator('#card-under-replicated .value').innerText()).toBe('0');
    expect(await page.locator('#card-offline .value').innerText()).toBe('0');
    expect(await page.locator('#cluster-nodes-table th', { hasText: 'Replicas' }).count()).toBe(1);
    await shot('cluster');
  });

  it("shows on each thread card that thread's own CPU (event-loop utilisation), a busy thread above an idle one", async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'console-busy', numPartitions: 1 }], waitForLeaders: true });
    // Its first request opens the (passivated) partition on a thread.
    await admin.fetchTopicOffsets('console-busy');
    await admin.disconnect();
    const actors = (await (await fetch(`${base}/api/actors`)).json()) as { id: string; threadIndex: number }[];
    const busy = actors.find((a) => a.id === 'partition:console-busy:0')!.threadIndex;
    const idle = busy === 0 ? 1 : 0;
    // The overview answers the page last drew, to hold the cards against the API's figures.
    let lastOverview: { threads: { threadIndex: number; eventLoopUtilization: number }[] } | null = null;
    const onResponse = async (r: import('playwright-core').Response) => {
      if (r.url().endsWith('/api/overview')) lastOverview = (await r.json().catch(() => lastOverview)) as typeof lastOverview;
    };
    page.on('response', onResponse);
    await open('overview');
    await page.waitForSelector(`.thread[data-thread="${idle}"] .thread-cpu`);

    // Several loops produce to the one partition on the busy thread until the cards show it.
    let stopped = false;
    const value = Buffer.alloc(1024, 7);
    const loops = Array.from({ length: 4 }, async () => {
      while (!stopped) await producer.send({ topic: 'console-busy', messages: Array.from({ length: 200 }, () => ({ partition: 0, value })) });
    });
    const cpuOf = (cards: { thread: number; text: string }[], i: number) => Number(/([\d.]+)%/.exec(cards.find((c) => c.thread === i)!.text)![1]);
    let cards: { thread: number; text: string }[];
    try {
      // Each figure is a 2 s window and the page redraws every 2 s; the bound is for a slow,
      // shared machine. Measured here: the busy thread near 20%, the idle one near 1%.
      await page.waitForFunction(
        ([b, i]: [number, number]) => {
          const pct = (t: number) => Number(/([\d.]+)%/.exec(document.querySelector(`.thread[data-thread="${t}"] .thread-cpu .value`)?.textContent ?? '')?.[1] ?? NaN);
          return pct(b) >= pct(i) + 5;
        },
        [busy, idle] as [number, number],
        { timeout: 30_000, polling: 200 },
      );
      cards = await page.locator('.thread').evaluateAll((els) => els.map((e) => ({ thread: Number((e as HTMLElement).dataset.thread), text: e.textContent ?? '' })));
      await shot('overview-cpu');
    } finally {
      stopped = true;
      await Promise.all(loops);
    }
    expect(cpuOf(cards, busy)).toBeGreaterThan(cpuOf(cards, idle));
    // No card shows the process-wide CPU time any more (it was the same on every card).
    for (const c of cards) expect(c.text).not.toContain('Process CPU');
    // The cards show the API's per-thread utilisation: once a redraw has settled, each card's
    // figure is its thread's eventLoopUtilization in the overview the page last fetched.
    await expect
      .poll(
        async () => {
          const shown = await page
            .locator('.thread')
            .evaluateAll((els) => els.map((e) => [Number((e as HTMLElement).dataset.thread), e.querySelector('.thread-cpu .value')?.textContent]));
          const api = lastOverview;
          return shown.every(([t, text]) => text === `${((api?.threads.find((x) => x.threadIndex === t)?.eventLoopUtilization ?? NaN) * 100).toFixed(1)}%`);
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe(true);
    page.off('response', onResponse);
  });

  it('creates a topic from the console and lists it with its partitions', async () => {
    await open('topics');
    await page.fill('#new-topic-name', 'console-orders');
    await page.fill('#new-topic-partitions', '2');
    await page.fill('#new-topic-configs', 'retention.ms=3600000');
    await page.click('#create-topic');
    await page.waitForSelector('tr[data-topic="console-orders"]');
    await page.click('tr[data-topic="console-orders"] a');
    await page.waitForSelector('#partitions-table tbody tr:nth-child(2)');
    expect(await page.locator('#topic-detail').textContent()).toContain('retention.ms3600000 (override)');
    // Each partition's leader, replicas, ISR and health (a single node: one replica, in sync).
    const heads = await page.locator('#partitions-table th').allInnerTexts();
    expect(heads.slice(0, 7).map((x) => x.toLowerCase())).toEqual(['partition', 'leader', 'epoch', 'replicas', 'isr', 'status', 'follower lag (records)']);
    expect(await page.locator('#partitions-table tr[data-partition="1"] [data-status]').getAttribute('data-status')).toBe('ok');
    await shot('topics');
  });

  it('finds a record produced with kafkajs in the message browser, as text, JSON and hex', async () => {
    await producer.send({
      topic: 'console-orders',
      messages: [
        { partition: 1, key: 'order-1', value: JSON.stringify({ id: 1, item: 'kettle' }), headers: { source: 'e2e' } },
        { partition: 1, key: 'order-2', value: JSON.stringify({ id: 2, item: 'teapot' }) },
      ],
    });
    await open('messages/console-orders/1');
    await page.fill('#browse-search', 'teapot');
    await page.click('#browse-load');
    // The page's own first load (both records) may still be on screen: wait for the search's.
    await page.waitForFunction(() => document.querySelectorAll('#records-table tbody tr').length === 1, undefined, { timeout: 10_000 });
    await page.waitForSelector('#records-table tr[data-offset="1"]');
    expect(await page.locator('#records-table tbody tr').count()).toBe(1);
    expect(await page.locator('#records-table').textContent()).toContain('order-2');
    await page.fill('#browse-search', '');
    await page.click('#browse-load');
    await page.waitForFunction(() => document.querySelectorAll('#records-table tbody tr').length === 2, undefined, { timeout: 10_000 });
    await page.waitForSelector('#records-table tr[data-offset="0"]');
    expect(await page.locator('#records-table tr[data-offset="0"]').textContent()).toContain('source: e2e');
    await page.selectOption('#browse-format', 'json');
    expect(await page.locator('#records-table tr[data-offset="0"] pre').nth(1).textContent()).toContain('"item": "kettle"');
    await shot('messages');
    await page.selectOption('#browse-format', 'hex');
    expect(await page.locator('#records-table tr[data-offset="0"] pre').first().textContent()).toContain('6f 72 64 65 72 2d 31');
  });

  it('shows a record in the live tail as it is produced', async () => {
    await open('tail/console-orders');
    await page.waitForFunction(() => document.getElementById('tail-status')?.textContent?.startsWith('tailing'));
    await producer.send({ topic: 'console-orders', messages: [{ partition: 0, key: 'live', value: 'fresh off the wire' }] });
    await page.waitForSelector('#tail-table tr[data-partition="0"][data-offset="0"]');
    expect(await page.locator('#tail-table').textContent()).toContain('fresh off the wire');
    await shot('tail');
  });

  it('adds a worker thread and actors move to it', async () => {
    await open('overview');
    await page.waitForSelector('.thread[data-thread="1"]');
    await page.click('#add-worker');
    await page.waitForSelector('.thread[data-thread="2"] .chip', { timeout: 20_000 });
    const counts = await page.locator('.thread').evaluateAll((els) => els.map((e) => e.querySelectorAll('.chip').length));
    expect(counts.length).toBe(3);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  it('switches a failure point on and sees the supervisor restart the actor', async () => {
    const id = 'partition:console-orders:1';
    await open(`actors/${encodeURIComponent(id)}`);
    const row = page.locator(`#actors-table tr[data-actor="${id}"]`);
    await row.waitFor();
    expect(await row.locator('.restarts').textContent()).toBe('0');
    await row.locator('.fp-select').selectOption('append');
    await row.locator('.fp-toggle').click();
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'Switch off', `#actors-table tr[data-actor="${id}"] .fp-toggle`);
    // The next append crashes the actor; the supervisor restarts it and kafkajs retries.
    await producer.send({ topic: 'console-orders', messages: [{ partition: 1, key: 'after', value: 'the crash' }] });
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === '1', `#actors-table tr[data-actor="${id}"] .restarts`, { timeout: 20_000 });
    expect(await row.textContent()).toContain("injected failure at failure point 'append'");
    expect(await row.locator('.status').textContent()).toBe('running');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('actors');
  });

  it('shows the actors table whole at 1400 px: every State cell inside the visible table and readable', async () => {
    await open('actors');
    await page.waitForSelector('#actors-table tr[data-actor="partition:console-busy:0"] .state');
    const layout = await page.evaluate(() => {
      const table = document.getElementById('actors-table')!;
      const holder = table.parentElement!;
      const box = holder.getBoundingClientRect();
      const cells = [...table.querySelectorAll('tbody td.state-col')].map((td) => {
        const r = td.getBoundingClientRect();
        const state = td.querySelector('.state');
        const lineHeight = state ? parseFloat(getComputedStyle(state).lineHeight) : 0;
        return {
          actor: (td.parentElement as HTMLElement).dataset.actor,
          text: td.textContent ?? '',
          inside: r.left >= box.left - 0.5 && r.right <= box.right + 0.5 && r.right <= window.innerWidth,
          overflowing: td.scrollWidth > td.clientWidth,
          lines: state ? Math.round(state.getBoundingClientRect().height / lineHeight) : 0,
          // A field ("end 123456") broken over lines would have more than one box.
          brokenFields: state ? [...state.querySelectorAll('.field')].filter((f) => f.getClientRects().length !== 1).length : -1,
        };
      });
      return { holderOverflow: holder.scrollWidth - holder.clientWidth, viewport: window.innerWidth, cells };
    });
    expect(layout.viewport).toBe(1400);
    // The table fits its holder: nothing hides behind a horizontal scrollbar below the last row.
    expect(layout.holderOverflow).toBeLessThanOrEqual(0);
    expect(layout.cells.length).toBeGreaterThan(50);
    // Passivated actors (log closed) have no state to show; every open one's is checked.
    const opened = layout.cells.filter((c) => c.brokenFields >= 0);
    expect(opened.length).toBeGreaterThan(5);
    for (const c of opened) {
      expect(c, `State of ${c.actor}`).toMatchObject({ inside: true, overflowing: false, brokenFields: 0 });
      expect(c.text).toMatch(/^start \d+ end \d+ hw \d+ · epoch \d+ · /);
      expect(c.lines, `lines of ${c.actor}'s State`).toBeLessThanOrEqual(3);
    }
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('actors-1400');
  });

  it('sends a message to an actor from its page', async () => {
    await open(`actors/${encodeURIComponent('partition:console-orders:1')}`);
    await page.waitForSelector('#send-button');
    await page.fill('#send-message', '{"type":"GetOffsets"}');
    await page.click('#send-button');
    await page.waitForFunction(() => document.getElementById('send-reply')?.textContent?.includes('highWatermark'));
    expect((JSON.parse((await page.locator('#send-reply').textContent())!) as { highWatermark: number }).highWatermark).toBe(3);
  });

  it('charts produce and fetch throughput, and deletes a topic', async () => {
    await open('charts');
    await page.waitForSelector('#charts canvas');
    await page.waitForTimeout(1200);
    await shot('charts');
    await open('topics/console-orders');
    await page.waitForSelector('#delete-topic');
    await page.click('#delete-topic');
    await page.waitForFunction(() => location.hash === '#/topics');
    await page.waitForFunction(() => !document.querySelector('tr[data-topic="console-orders"]'));
    expect(broker.node.controller.image.topicsByName.has('console-orders')).toBe(false);
  });
});
