"""confluent-kafka-python producer for Brook's replication interop test: produces `count` records
valued `<prefix>-<i>` to one partition at about `rate` records/s with idempotence and acks=all,
while the test kills the partition leader's node.

Reads one JSON request on stdin: {bootstrap, topic, partition, count, rate, prefix, config?}.
Writes "progress <delivered> <failed>" lines to stderr as delivery reports arrive (the test kills
the leader once enough are in), and one JSON reply line on stdout at the end:
{"delivered": [{"value", "offset"}...], "errors": [{"value", "error"}...], "unflushed": n}.
Run with Debian's /usr/bin/python3 (package python3-confluent-kafka).
"""
import json
import sys
import time

from confluent_kafka import Producer


def main():
    req = json.loads(sys.stdin.read())
    conf = {
        'bootstrap.servers': req['bootstrap'],
        'enable.idempotence': True,
        'acks': 'all',
        'linger.ms': 5,
        'message.timeout.ms': 60000,
        'socket.timeout.ms': 10000,
        'retry.backoff.ms': 100,
        'topic.metadata.refresh.interval.ms': 2000,
    }
    conf.update(req.get('config', {}))
    p = Producer(conf)
    delivered, errors = [], []
    last_report = [0.0]

    def report(force=False):
        now = time.time()
        if force or now - last_report[0] >= 0.1:
            last_report[0] = now
            sys.stderr.write('progress %d %d\n' % (len(delivered), len(errors)))
            sys.stderr.flush()

    def cb(err, msg):
        value = msg.value().decode('utf-8')
        if err is not None:
            errors.append({'value': value, 'error': str(err)})
        else:
            delivered.append({'value': value, 'offset': msg.offset(), 'partition': msg.partition()})
        report()

    count, rate, prefix = req['count'], req['rate'], req['prefix']
    start = time.time()
    for i in range(count):
        # Paced: record i goes out no earlier than i / rate seconds after the start.
        while time.time() - start < i / rate:
            p.poll(0.005)
        while True:
            try:
                p.produce(req['topic'], value=('%s-%d' % (prefix, i)).encode('utf-8'), partition=req['partition'], on_delivery=cb)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(req.get('timeout', 70))
    report(True)
    print(json.dumps({'delivered': delivered, 'errors': errors, 'unflushed': left}))
    sys.stdout.flush()


if __name__ == '__main__':
    main()
