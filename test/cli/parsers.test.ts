// The CLI's pure parsers and formatters, without a broker.
import { describe, expect, it } from 'vitest';
import { parseAddConfig } from '../../src/cli/configs.js';
import { formatRecord, type PrintOptions } from '../../src/cli/consume.js';
import { parseDatetime, parseDuration, parseTopicSpec } from '../../src/cli/groups-reset.js';
import { formatTable, unescape, UsageError } from '../../src/cli/options.js';
import { ProduceStats, recordsPerSend } from '../../src/cli/perf.js';
import { parseLine, type LineFormat } from '../../src/cli/produce.js';

describe('reset-offsets parsers', () => {
  it('reads ISO-8601 durations as Java Duration.parse does', () => {
    expect(parseDuration('PT10M')).toBe(600_000);
    expect(parseDuration('P1DT2H')).toBe(26 * 3_600_000);
    expect(parseDuration('PT1.5S')).toBe(1500);
    expect(parseDuration('pt0s')).toBe(0);
    for (const bad of ['10m', 'P', 'PT', 'P1H', '-PT1M']) expect(() => parseDuration(bad), bad).toThrow(UsageError);
  });

  it('reads datetimes with and without a zone', () => {
    expect(parseDatetime('2025-01-31T12:00:00.000Z')).toBe(Date.UTC(2025, 0, 31, 12));
    expect(parseDatetime('2025-01-31T12:00:00+0100')).toBe(Date.UTC(2025, 0, 31, 11));
    expect(parseDatetime('2025-01-31T12:00:00-01:30')).toBe(Date.UTC(2025, 0, 31, 13, 30));
    expect(parseDatetime('2025-01-31T12:00')).toBe(new Date(2025, 0, 31, 12).getTime());
    expect(() => parseDatetime('2025-01-31')).toThrow(/--to-datetime/);
    expect(() => parseDatetime('2025-13-01T00:00:00')).toThrow(/--to-datetime/);
  });

  it('reads topic specs with partition lists and ranges', () => {
    expect(parseTopicSpec('events')).toEqual({ topic: 'events' });
    expect(parseTopicSpec('events:0,2')).toEqual({ topic: 'events', partitions: [0, 2] });
    expect(parseTopicSpec('events:1-3,7')).toEqual({ topic: 'events', partitions: [1, 2, 3, 7] });
    expect(() => parseTopicSpec('events:x')).toThrow(/--topic/);
    expect(() => parseTopicSpec(':1')).toThrow(/--topic/);
  });
});

describe('configs --add-config', () => {
  it('splits on commas outside brackets', () => {
    expect(parseAddConfig('a=1,b=[x,y],c=')).toEqual([
      ['a', '1'],
      ['b', 'x,y'],
      ['c', ''],
    ]);
    expect(() => parseAddConfig('a')).toThrow(/--add-config/);
  });
});

describe('produce lines', () => {
  const plain: LineFormat = { keySeparator: null, headers: null, fixedHeaders: [] };
  it('takes the whole line as the value by default', () => {
    expect(parseLine('a\tb', 1, plain)).toEqual({ key: null, value: Buffer.from('a\tb'), headers: undefined });
  });

  it('splits headers, key and value, keeping later separators in the value', () => {
    const f: LineFormat = { keySeparator: ':', headers: { delimiter: '\t', separator: ',', keySeparator: '=' }, fixedHeaders: [{ key: 'src', value: Buffer.from('cli') }] };
    const m = parseLine('h1=v1,h2\tk:v:w', 1, f);
    expect(m.key).toEqual(Buffer.from('k'));
    expect(m.value).toEqual(Buffer.from('v:w'));
    expect(m.headers).toEqual([
      { key: 'src', value: Buffer.from('cli') },
      { key: 'h1', value: Buffer.from('v1') },
      { key: 'h2', value: null },
    ]);
    expect(() => parseLine('no delimiter', 3, f)).toThrow('line 3: no headers delimiter');
  });

  it('unescapes separators given on the command line', () => {
    expect(unescape('\\t')).toBe('\t');
    expect(unescape('a\\\\b\\n')).toBe('a\\b\n');
  });
});

describe('consume output', () => {
  const record = { topic: 't', partition: 1, offset: 5, timestamp: 1700000000000, key: Buffer.from('k'), value: Buffer.from([0xff, 0x41]), headers: [{ key: 'h', value: null }] };
  const base: PrintOptions = {
    format: 'text',
    key: false,
    timestamp: false,
    partition: false,
    offset: false,
    headers: false,
    separator: '\t',
    headersSeparator: ',',
    headersKeySeparator: ':',
  };
  it("prints the fields asked for in Kafka's order", () => {
    expect(formatRecord({ ...record, value: Buffer.from('v') }, { ...base, key: true, timestamp: true, partition: true, offset: true, headers: true })).toBe(
      'CreateTime:1700000000000\tPartition:1\tOffset:5\th:null\tk\tv\n',
    );
    expect(formatRecord({ ...record, key: null, value: null }, { ...base, key: true })).toBe('null\tnull\n');
  });

  it('prints hex, and JSON with base64 for bytes that are not UTF-8', () => {
    expect(formatRecord(record, { ...base, format: 'hex', key: true })).toBe('6b\tff41\n');
    expect(JSON.parse(formatRecord(record, { ...base, format: 'json' }))).toEqual({
      topic: 't',
      partition: 1,
      offset: 5,
      timestamp: 1700000000000,
      key: 'k',
      value: { base64: '/0E=' },
      headers: [{ key: 'h', value: null }],
    });
  });
});

describe('formatTable', () => {
  it('pads columns to their widest cell', () => {
    expect(
      formatTable(
        ['A', 'LONG'],
        [
          ['xyz', '1'],
          ['q', '22'],
        ],
      ),
    ).toBe('A   LONG\nxyz 1\nq   22\n');
  });
});

describe('perf produce feeding', () => {
  it('hands the producer up to 1000 records and 512 KiB per send() call, or about 1 ms of records at a set throughput', () => {
    expect(recordsPerSend(100, -1, 1_000_000)).toBe(1000);
    expect(recordsPerSend(1024, -1, 1_000_000)).toBe(Math.floor((512 * 1024) / (1024 + 64)));
    expect(recordsPerSend(10 * 1024 * 1024, -1, 100)).toBe(1);
    expect(recordsPerSend(100, -1, 10)).toBe(10);
    expect(recordsPerSend(100, 3000, 1_000_000)).toBe(3);
    expect(recordsPerSend(100, 500, 1_000_000)).toBe(1);
    expect(recordsPerSend(100, 5_000_000, 1_000_000)).toBe(1000);
  });

  it('counts every record of a call and samples every n-th record, whatever order the calls finish in', () => {
    const lines: string[] = [];
    // 2,000,000 records keep 500,000 samples: every 4th record.
    const stats = new ProduceStats(2_000_000, 60_000, (l) => lines.push(l));
    stats.record(1000, 1000, 5, 100);
    stats.record(0, 1000, 1, 100);
    stats.record(2000, 3, 9, 100);
    const line = stats.finalLine();
    // Samples of records 0, 4, ..., 2000: 250 at 1 ms, 250 at 5 ms and one at 9 ms.
    expect(line).toMatch(
      /^2003 records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), 3\.01 ms avg latency, 9\.00 ms max latency, 5 ms 50th, 5 ms 95th, 5 ms 99th, 9 ms 99\.9th\.\n$/,
    );
    expect(lines).toEqual([]);
    const one = new ProduceStats(8, 60_000, () => undefined);
    one.record(0, 8, 2, 10);
    expect(one.finalLine()).toMatch(/^8 records sent, .* 2\.00 ms avg latency, 2\.00 ms max latency, 2 ms 50th/);
  });
});
