"""kafka-python driver for Brook's interop tests.

Reads one JSON request on stdin, prints one JSON reply line on stdout; the client's log goes
to stderr (level from the request's "log" field, default WARNING).
Run with Debian's /usr/bin/python3 (package python3-kafka).
"""
import json
import logging
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.partitioner.default import murmur2


def b(s):
    return None if s is None else s.encode('utf-8')


def s(v):
    return None if v is None else v.decode('utf-8', 'replace')


def common(req):
    conf = {'bootstrap_servers': req['bootstrap'], 'request_timeout_ms': 15000}
    if req.get('api_version'):
        conf['api_version'] = tuple(req['api_version'])
    conf.update(req.get('config', {}))
    return conf


def produce(req):
    conf = common(req)
    conf.setdefault('acks', 'all')
    conf.setdefault('max_block_ms', 15000)
    p = KafkaProducer(**conf)
    futures = []
    for r in req['records']:
        headers = [(k, b(v)) for k, v in (r.get('headers') or [])]
        futures.append((r, p.send(req['topic'], value=b(r.get('value')), key=b(r.get('key')), headers=headers,
                                  partition=r.get('partition'), timestamp_ms=r.get('timestamp'))))
    p.flush(req.get('timeout', 15))
    delivered, errors = [], []
    for r, f in futures:
        try:
            md = f.get(timeout=15)
            delivered.append({'partition': md.partition, 'offset': md.offset, 'key': r.get('key'), 'value': r.get('value')})
        except Exception as e:  # noqa
            errors.append({'error': repr(e), 'key': r.get('key')})
    p.close(10)
    return {'delivered': delivered, 'errors': errors}


def consume(req):
    """assign() + seek_to_beginning(), reads up to each partition's end offset."""
    conf = common(req)
    conf.setdefault('enable_auto_commit', False)
    conf.setdefault('group_id', None)
    conf.setdefault('consumer_timeout_ms', 1000)
    c = KafkaConsumer(**conf)
    topic = req['topic']
    parts = req.get('partitions')
    if parts is None:
        deadline = time.time() + 10
        ps = c.partitions_for_topic(topic)
        while ps is None and time.time() < deadline:
            time.sleep(0.2)
            ps = c.partitions_for_topic(topic)
        parts = sorted(ps or [])
    tps = [TopicPartition(topic, p) for p in parts]
    c.assign(tps)
    if req.get('start') is not None:
        for tp in tps:
            c.seek(tp, req['start'])  # an explicit offset, e.g. one out of range
    else:
        c.seek_to_beginning(*tps)
    ends = c.end_offsets(tps)
    out = []
    deadline = time.time() + req.get('timeout', 15)
    # Done with a partition once a record at end-1 arrived (or it is empty). Positions alone
    # would not do after a seek past the end.
    reached = {tp: ends[tp] == 0 for tp in tps}
    while time.time() < deadline and not all(reached.values()):
        batch = c.poll(timeout_ms=500)
        for tp, msgs in batch.items():
            for m in msgs:
                out.append({'partition': m.partition, 'offset': m.offset, 'key': s(m.key), 'value': s(m.value),
                            'headers': [[k, s(v)] for k, v in (m.headers or [])], 'timestamp': m.timestamp})
                if m.offset + 1 >= ends[tp]:
                    reached[tp] = True
    complete = all(reached.values())
    c.close()
    return {'records': out, 'ends': {str(tp.partition): o for tp, o in ends.items()}, 'complete': complete}


def offsets(req):
    conf = common(req)
    conf.setdefault('group_id', None)
    c = KafkaConsumer(**conf)
    tps = [TopicPartition(req['topic'], p) for p in req['partitions']]
    begin = c.beginning_offsets(tps)
    end = c.end_offsets(tps)
    times = {}
    if req.get('timestamp') is not None:
        res = c.offsets_for_times({tp: req['timestamp'] for tp in tps})
        times = {str(tp.partition): (None if v is None else v.offset) for tp, v in res.items()}
    c.close()
    return {'watermarks': {str(tp.partition): [begin[tp], end[tp]] for tp in tps}, 'times': times}


def admin(req):
    return KafkaAdminClient(**common(req))


def create_topics(req):
    a = admin(req)
    resp = a.create_topics([NewTopic(t['name'], t.get('partitions', 1), t.get('replication', 1),
                                     topic_configs=t.get('config', {})) for t in req['topics']], timeout_ms=10000)
    a.close()
    return {'results': {e[0]: e[1] for e in resp.topic_errors}, 'version': resp.API_VERSION}


def delete_topics(req):
    a = admin(req)
    resp = a.delete_topics(req['topics'], timeout_ms=10000)
    a.close()
    return {'results': {e[0]: e[1] for e in resp.topic_error_codes}, 'version': resp.API_VERSION}


def list_topics(req):
    a = admin(req)
    topics = a.list_topics()
    a.close()
    return {'topics': sorted(topics)}


def describe_configs(req):
    a = admin(req)
    resps = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, req['topic'])])
    out = {}
    version = None
    for resp in resps:
        version = resp.API_VERSION
        for res in resp.resources:
            # (error_code, error_message, resource_type, resource_name, config_entries)
            out['error_code'] = res[0]
            out['configs'] = {e[0]: e[1] for e in res[4]}
    a.close()
    return {'result': out, 'version': version}


def create_partitions(req):
    from kafka.admin import NewPartitions
    a = admin(req)
    resp = a.create_partitions({req['topic']: NewPartitions(req['count'])}, timeout_ms=10000)
    a.close()
    return {'results': {e[0]: e[1] for e in resp.topic_errors}, 'version': resp.API_VERSION}


def alter_configs(req):
    a = admin(req)
    resp = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, req['topic'], configs=req['configs'])])
    a.close()
    # resources: (error_code, error_message, resource_type, resource_name)
    return {'results': {r[3]: r[0] for r in resp.resources}, 'version': resp.API_VERSION}


def partition_for(req):
    n = req['partitions']
    # kafka-python's DefaultPartitioner: murmur2(key) & 0x7fffffff % n — the Java client's.
    return {'partitions': {k: (murmur2(b(k)) & 0x7fffffff) % n for k in req['keys']}}


def consume_detailed(req):
    """Like consume, with each record's timestamp type (0 CreateTime, 1 LogAppendTime); the
    consumer checks CRCs (check_crcs, kafka-python's default). A client exception (a CRC error
    among them) is reported in 'error' instead of failing the script."""
    conf = common(req)
    conf.setdefault('enable_auto_commit', False)
    conf.setdefault('group_id', None)
    conf.setdefault('check_crcs', True)
    c = KafkaConsumer(**conf)
    topic = req['topic']
    tps = [TopicPartition(topic, p) for p in req.get('partitions', [0])]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    ends = c.end_offsets(tps)
    out = []
    error = None
    deadline = time.time() + req.get('timeout', 15)
    reached = {tp: ends[tp] == 0 for tp in tps}
    try:
        while time.time() < deadline and not all(reached.values()):
            batch = c.poll(timeout_ms=500)
            for tp, msgs in batch.items():
                for m in msgs:
                    out.append({'partition': m.partition, 'offset': m.offset, 'key': s(m.key), 'value': s(m.value),
                                'timestamp': m.timestamp, 'timestamp_type': m.timestamp_type})
                    if m.offset + 1 >= ends[tp]:
                        reached[tp] = True
    except Exception as e:  # noqa
        error = repr(e)
    c.close()
    return {'records': out, 'ends': {str(tp.partition): o for tp, o in ends.items()}, 'complete': all(reached.values()),
            'error': error}


def codecs(req):
    """Which compression codecs this kafka-python can use (python3-snappy, python3-lz4, python3-zstandard)."""
    from kafka.codec import has_gzip, has_snappy, has_lz4, has_zstd
    return {'gzip': has_gzip(), 'snappy': has_snappy(), 'lz4': has_lz4(), 'zstd': has_zstd()}


OPS = {'produce': produce, 'consume': consume, 'offsets': offsets, 'create_topics': create_topics,
       'delete_topics': delete_topics, 'list_topics': list_topics, 'describe_configs': describe_configs,
       'partition_for': partition_for, 'create_partitions': create_partitions, 'alter_configs': alter_configs,
       'consume_detailed': consume_detailed, 'codecs': codecs}

if __name__ == '__main__':
    request = json.loads(sys.stdin.read())
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, request.get('log', 'WARNING')),
                        format='%(asctime)s %(name)s %(levelname)s %(message)s')
    print(json.dumps(OPS[request['op']](request)))
    sys.stdout.flush()
