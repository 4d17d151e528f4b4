"""confluent-kafka-python (librdkafka) driver for Brook's interop tests.

Reads one JSON request on stdin, prints one JSON reply line on stdout. librdkafka's own
log goes to stderr (debug contexts via the request's "debug" field).
Run with Debian's /usr/bin/python3 (package python3-confluent-kafka).
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic, ConfigResource


def b(s):
    return None if s is None else s.encode('utf-8')


def s(v):
    return None if v is None else v.decode('utf-8', 'replace')


def base_conf(req):
    conf = {'bootstrap.servers': req['bootstrap'], 'socket.timeout.ms': 10000}
    if req.get('debug'):
        conf['debug'] = req['debug']
    conf.update(req.get('config', {}))
    return conf


def produce(req):
    conf = base_conf(req)
    conf.setdefault('partitioner', 'murmur2_random')
    conf.setdefault('message.timeout.ms', 15000)
    p = Producer(conf)
    delivered, errors = [], []

    def cb(err, msg):
        if err is not None:
            errors.append({'error': str(err), 'key': s(msg.key())})
        else:
            delivered.append({'partition': msg.partition(), 'offset': msg.offset(), 'key': s(msg.key()), 'value': s(msg.value())})

    for r in req['records']:
        kw = {'value': b(r.get('value')), 'key': b(r.get('key')), 'on_delivery': cb}
        if r.get('headers'):
            kw['headers'] = [(k, b(v)) for k, v in r['headers']]
        if r.get('partition') is not None:
            kw['partition'] = r['partition']
        if r.get('timestamp') is not None:
            kw['timestamp'] = r['timestamp']
        while True:
            try:
                p.produce(req['topic'], **kw)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    left = p.flush(req.get('timeout', 15))
    return {'delivered': delivered, 'errors': errors, 'unflushed': left}


def consume(req):
    """Assigns the given partitions from the beginning and reads up to each one's high watermark."""
    conf = base_conf(req)
    conf.setdefault('group.id', 'brook-interop-unused')
    conf.setdefault('enable.auto.commit', False)
    conf.setdefault('enable.partition.eof', True)
    c = Consumer(conf)
    topic = req['topic']
    parts = req.get('partitions')
    if parts is None:
        md = c.list_topics(topic, timeout=10)
        parts = sorted(md.topics[topic].partitions.keys())
    ends = {}
    for p in parts:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        ends[p] = hi
    start = req.get('start', OFFSET_BEGINNING)  # an explicit offset, e.g. one out of range
    c.assign([TopicPartition(topic, p, start) for p in parts])
    out = []
    done = {p for p in parts if ends[p] == 0}
    deadline = time.time() + req.get('timeout', 15)
    errors = []
    while len(done) < len(parts) and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                if m.offset() >= ends.get(m.partition(), 0):
                    done.add(m.partition())
                continue
            errors.append(str(m.error()))
            continue
        ts_type, ts = m.timestamp()
        out.append({'partition': m.partition(), 'offset': m.offset(), 'key': s(m.key()), 'value': s(m.value()),
                    'headers': [[k, s(v)] for k, v in (m.headers() or [])], 'timestamp': ts})
        if m.offset() + 1 >= ends[m.partition()]:
            done.add(m.partition())
    c.close()
    return {'records': out, 'ends': {str(k): v for k, v in ends.items()}, 'complete': len(done) == len(parts), 'errors': errors}


def admin(req):
    return AdminClient(base_conf(req))


def create_topics(req):
    a = admin(req)
    fs = a.create_topics([NewTopic(t['name'], num_partitions=t.get('partitions', 1), replication_factor=t.get('replication', 1),
                                   config=t.get('config', {})) for t in req['topics']], operation_timeout=10, request_timeout=15)
    res = {}
    for name, f in fs.items():
        try:
            f.result(15)
            res[name] = None
        except Exception as e:  # noqa
            res[name] = str(e)
    return {'results': res}


def delete_topics(req):
    a = admin(req)
    fs = a.delete_topics(req['topics'], operation_timeout=10, request_timeout=15)
    res = {}
    for name, f in fs.items():
        try:
            f.result(15)
            res[name] = None
        except Exception as e:  # noqa
            res[name] = str(e)
    return {'results': res}


def list_topics(req):
    a = admin(req)
    md = a.list_topics(timeout=10)
    return {
        'brokers': [{'id': bk.id, 'host': bk.host, 'port': bk.port} for bk in md.brokers.values()],
        'controller': md.controller_id,
        'topics': {name: {'partitions': sorted(t.partitions.keys()), 'error': str(t.error) if t.error else None,
                          'leaders': {str(p): pm.leader for p, pm in t.partitions.items()}}
                   for name, t in md.topics.items()},
    }


def create_partitions(req):
    from confluent_kafka.admin import NewPartitions
    a = admin(req)
    fs = a.create_partitions([NewPartitions(req['topic'], req['count'])], operation_timeout=10, request_timeout=15)
    res = {}
    for name, f in fs.items():
        try:
            f.result(15)
            res[name] = None
        except Exception as e:  # noqa
            res[name] = str(e)
    return {'results': res}


def alter_configs(req):
    """Legacy AlterConfigs: replaces the topic's whole set of dynamic configs."""
    a = admin(req)
    res = ConfigResource(ConfigResource.Type.TOPIC, req['topic'], set_config=req['configs'])
    out = {}
    for r, f in a.alter_configs([res], request_timeout=15).items():
        try:
            f.result(15)
            out[r.name] = None
        except Exception as e:  # noqa
            out[r.name] = str(e)
    return {'results': out}


def describe_configs(req):
    a = admin(req)
    fs = a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, req['topic'])], request_timeout=15)
    out = {}
    for res, f in fs.items():
        cfg = f.result(15)
        out = {k: v.value for k, v in cfg.items()}
    return {'configs': out}


def offsets(req):
    conf = base_conf(req)
    conf.setdefault('group.id', 'brook-interop-unused')
    conf.setdefault('enable.auto.commit', False)
    c = Consumer(conf)
    topic = req['topic']
    parts = req['partitions']
    wm = {}
    for p in parts:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)
        wm[str(p)] = [lo, hi]
    times = {}
    if req.get('timestamp') is not None:
        res = c.offsets_for_times([TopicPartition(topic, p, req['timestamp']) for p in parts], timeout=10)
        for tp in res:
            times[str(tp.partition)] = tp.offset if tp.error is None else 'error: ' + str(tp.error)
    c.close()
    return {'watermarks': wm, 'times': times}


def describe_configs_detailed(req):
    """DescribeConfigs of a topic with each entry's value, source (ConfigSource enum name) and is_default."""
    from confluent_kafka.admin import ConfigSource
    a = admin(req)
    fs = a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, req['topic'])], request_timeout=15)
    out = {}
    for res, f in fs.items():
        cfg = f.result(15)
        out = {k: {'value': v.value, 'source': ConfigSource(v.source).name,
                   'is_default': v.is_default} for k, v in cfg.items()}
    return {'configs': out}


OPS = {'produce': produce, 'consume': consume, 'create_topics': create_topics, 'delete_topics': delete_topics,
       'list_topics': list_topics, 'describe_configs': describe_configs,
       'create_partitions': create_partitions, 'alter_configs': alter_configs, 'offsets': offsets,
       'describe_configs_detailed': describe_configs_detailed}

if __name__ == '__main__':
    request = json.loads(sys.stdin.read())
    print(json.dumps(OPS[request['op']](request)))
    sys.stdout.flush()
