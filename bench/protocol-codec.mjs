#!/usr/bin/env node
// Protocol codec throughput: decodes Produce v9 requests and encodes Fetch v13 responses carrying
// 16 KiB record sets, and decodes/encodes Metadata v12. Prints ops/s and MB/s (of frame bytes),
// plus the share of Fetch encoding spent in the sizing pass.
// Run after `npx tsc -p tsconfig.json`: node bench/protocol-codec.mjs [--seconds 1]
import { parseArgs } from 'node:util';
import { compiledCodec } from '../dist/src/protocol/compile.js';
import { API_SPECS, decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../dist/src/protocol/index.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '1' } } });
const seconds = Number(values.seconds);
const RECORD_SET_BYTES = 16 * 1024;

function recordSet(seed) {
  const b = Buffer.allocUnsafe(RECORD_SET_BYTES);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** Runs fn repeatedly for the configured time after a warm-up; returns ops/s. */
function measure(fn) {
  const warmUntil = performance.now() + 200;
  while (performance.now() < warmUntil) fn();
  let ops = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 100; i++) fn();
    ops += 100;
    now = performance.now();
  }
  return ops / ((now - start) / 1000);
}

function report(label, opsPerSec, bytesPerOp) {
  const mbPerSec = (opsPerSec * bytesPerOp) / (1024 * 1024);
  console.log(`${label.padEnd(58)} ${Math.round(opsPerSec).toLocaleString('en-US').padStart(12)} ops/s ${mbPerSec.toFixed(0).padStart(7)} MB/s  (${bytesPerOp} B/frame)`);
}

function produceRequest(partitions) {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 'bench-topic', partitionData: Array.from({ length: partitions }, (_, i) => ({ index: i, records: recordSet(i) })) }],
  };
}

function fetchResponse(partitions) {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        topicId: '00000000-0000-0000-0000-000000000000',
        topic: 'bench-topic',
        partitions: Array.from({ length: partitions }, (_, i) => ({
          partitionIndex: i,
          errorCode: 0,
          highWatermark: 1_000_000 + i,
          lastStableOffset: 1_000_000 + i,
          logStartOffset: 0,
          abortedTransactions: null,
          preferredReadReplica: -1,
          records: recordSet(i),
        })),
      },
    ],
  };
}

function metadataResponse(topics, partitionsPerTopic) {
  return {
    throttleTimeMs: 0,
    brokers: [1, 2, 3].map((id) => ({ nodeId: id, host: `broker-${id}.example.internal`, port: 9092, rack: `rack-${id}` })),
    clusterId: 'brook-bench-cluster',
    controllerId: 1,
    topics: Array.from({ length: topics }, (_, t) => ({
      errorCode: 0,
      name: `topic-${t}`,
      topicId: `${t.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`,
      isInternal: false,
      partitions: Array.from({ length: partitionsPerTopic }, (_, p) => ({
        errorCode: 0,
        partitionIndex: p,
        leaderId: (p % 3) + 1,
        leaderEpoch: 7,
        replicaNodes: [1, 2, 3],
        isrNodes: [1, 2, 3],
        offlineReplicas: [],
      })),
      topicAuthorizedOperations: -2147483648,
    })),
  };
}

console.log(`node ${process.version}, ${seconds}s per case`);

for (const partitions of [1, 8]) {
  const frame = encodeRequest(0, 9, 1, 'bench-producer', produceRequest(partitions)).subarray(4);
  report(
    `decode Produce v9 request, ${partitions} x 16 KiB`,
    measure(() => decodeRequest(frame)),
    frame.length + 4,
  );
}

for (const partitions of [1, 8]) {
  const body = fetchResponse(partitions);
  const size = encodeResponse(1, 13, 1, body).length;
  report(
    `encode Fetch v13 response, ${partitions} x 16 KiB`,
    measure(() => encodeResponse(1, 13, 1, body)),
    size,
  );
  if (partitions === 8) {
    const codec = compiledCodec(API_SPECS[1].response, 13);
    const sizeOps = measure(() => codec.size(body));
    const encodeOps = measure(() => encodeResponse(1, 13, 1, body));
    console.log(`  sizing pass alone: ${Math.round(sizeOps).toLocaleString('en-US')} ops/s, ${((encodeOps / sizeOps) * 100).toFixed(1)}% of Fetch encode time`);
  }
}

{
  const frame = encodeResponse(1, 13, 1, fetchResponse(8)).subarray(4);
  report(
    'decode Fetch v13 response, 8 x 16 KiB (client side)',
    measure(() => decodeResponse(1, 13, frame)),
    frame.length + 4,
  );
}

{
  const request = encodeRequest(3, 12, 1, 'bench', {
    topics: Array.from({ length: 20 }, (_, t) => ({ topicId: '00000000-0000-0000-0000-000000000000', name: `topic-${t}` })),
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  }).subarray(4);
  report(
    'decode Metadata v12 request, 20 topics',
    measure(() => decodeRequest(request)),
    request.length + 4,
  );
  const body = metadataResponse(20, 6);
  const size = encodeResponse(3, 12, 1, body).length;
  report(
    'encode Metadata v12 response, 3 brokers, 20 topics x 6 parts',
    measure(() => encodeResponse(3, 12, 1, body)),
    size,
  );
  const frame = encodeResponse(3, 12, 1, body).subarray(4);
  report(
    'decode Metadata v12 response (client side)',
    measure(() => decodeResponse(3, 12, frame)),
    size,
  );
}
