// The embedded broker as an application's test suite uses it: imported by the package's name
// (package.json "exports" makes `brook` resolve to the built dist/, so this runs after a build),
// with Brook's own client, and with kafkajs to show any Kafka client works against it.
import { Admin, Consumer, Producer, startBroker, type EmbeddedBroker } from 'brook';
import { existsSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let broker: EmbeddedBroker;
beforeAll(async () => {
  broker = await startBroker({ logLevel: 'silent' });
});
afterAll(async () => {
  await broker?.stop();
});

describe("startBroker from 'brook'", () => {
  it('listens on an ephemeral port of 127.0.0.1 with a temporary data dir', () => {
    expect(broker.host).toBe('127.0.0.1');
    expect(broker.port).toBeGreaterThan(0);
    expect(broker.port).not.toBe(9092);
    expect(broker.bootstrap).toBe(`127.0.0.1:${broker.port}`);
    expect(existsSync(broker.dataDir)).toBe(true);
  });

  it("round-trips records with Brook's own client", async () => {
    const admin = new Admin({ bootstrapServers: [broker.bootstrap] });
    await admin.createTopics({ topics: [{ name: 'orders', numPartitions: 2 }] });
    await admin.close();
    const producer = new Producer({ bootstrapServers: [broker.bootstrap] });
    await producer.send({
      topic: 'orders',
      messages: [
        { key: 'a', value: 'one' },
        { key: 'b', value: 'two' },
      ],
    });
    await producer.close();
    const consumer = new Consumer({ bootstrapServers: [broker.bootstrap], groupId: 'billing' });
    await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
    const seen: string[] = [];
    for await (const r of consumer) {
      seen.push(`${String(r.key)}=${String(r.value)}`);
      if (seen.length === 2) break;
    }
    await consumer.close();
    expect(seen.sort()).toEqual(['a=one', 'b=two']);
  });

  it('serves kafkajs too', async () => {
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'clicks', messages: [{ key: 'k', value: 'v' }] });
    await producer.disconnect();
    const consumer = new Consumer({ bootstrapServers: [broker.bootstrap] });
    await consumer.assign([{ topic: 'clicks', partition: 0 }]);
    consumer.seek({ topic: 'clicks', partition: 0, offset: 0 });
    const first = await consumer[Symbol.asyncIterator]().next();
    await consumer.close();
    expect(String((first.value as { value: Buffer | null } | undefined)?.value)).toBe('v');
  });

  it('removes the temporary data dir on stop, and a second broker can start beside the first', async () => {
    const other = await startBroker({ logLevel: 'silent' });
    expect(other.port).not.toBe(broker.port);
    const dir = other.dataDir;
    await other.stop();
    expect(existsSync(dir)).toBe(false);
  });
});
