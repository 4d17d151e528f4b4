"""One consumer-group member for Brook's group interop tests, with librdkafka
(confluent-kafka-python, "ck") or kafka-python ("kp").

Reads one JSON request on stdin: client, bootstrap, topic, group, assignor ("range" or
"roundrobin"), stop_file, max_s, and for librdkafka optionally group_instance_id (a static
member, KIP-345) and session_timeout_ms. Subscribes, processes each record (prints it as a JSON
line), then commits it synchronously. Prints {"assigned": [...]} on every
assignment and, for librdkafka, {"revoked": [...]} on every revocation. Exits cleanly (close:
commit, and LeaveGroup unless static) once stop_file exists, or after max_s seconds.
Run with Debian's /usr/bin/python3 (python3-confluent-kafka, python3-kafka).
"""
import json
import os
import sys
import time


def emit(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def record(partition, offset, value):
    emit({'partition': partition, 'offset': offset, 'value': None if value is None else value.decode('utf-8', 'replace')})


def should_stop(req, started):
    return os.path.exists(req['stop_file']) or time.time() - started > req.get('max_s', 60)


def run_ck(req):
    from confluent_kafka import Consumer
    conf = {
        'bootstrap.servers': req['bootstrap'], 'group.id': req['group'], 'auto.offset.reset': 'earliest',
        'enable.auto.commit': False, 'partition.assignment.strategy': req.get('assignor', 'range'),
        'session.timeout.ms': req.get('session_timeout_ms', 6000), 'heartbeat.interval.ms': 500, 'client.id': 'ck-member',
    }
    if req.get('group_instance_id'):
        conf['group.instance.id'] = req['group_instance_id']
    c = Consumer(conf)

    def on_assign(_consumer, ps):
        emit({'assigned': sorted(p.partition for p in ps)})

    def on_revoke(_consumer, ps):
        emit({'revoked': sorted(p.partition for p in ps)})

    c.subscribe([req['topic']], on_assign=on_assign, on_revoke=on_revoke)
    started = time.time()
    while not should_stop(req, started):
        msg = c.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            sys.stderr.write('ck error: %s\n' % msg.error())
            continue
        record(msg.partition(), msg.offset(), msg.value())
        c.commit(message=msg, asynchronous=False)
    c.close()


def run_kp(req):
    from kafka import KafkaConsumer, ConsumerRebalanceListener, OffsetAndMetadata
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    assignor = RangePartitionAssignor if req.get('assignor', 'range') == 'range' else RoundRobinPartitionAssignor

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            pass

        def on_partitions_assigned(self, assigned):
            emit({'assigned': sorted(tp.partition for tp in assigned)})

    c = KafkaConsumer(
        bootstrap_servers=req['bootstrap'], group_id=req['group'], auto_offset_reset='earliest',
        enable_auto_commit=False, partition_assignment_strategy=[assignor], client_id='kp-member',
        session_timeout_ms=6000, heartbeat_interval_ms=500)
    c.subscribe([req['topic']], listener=Listener())
    started = time.time()
    while not should_stop(req, started):
        polled = c.poll(timeout_ms=200)
        for tp, msgs in polled.items():
            for m in msgs:
                record(m.partition, m.offset, m.value)
                try:
                    om = OffsetAndMetadata(m.offset + 1, None)
                except TypeError:
                    om = OffsetAndMetadata(m.offset + 1, None, -1)
                c.commit({tp: om})
    c.close()


if __name__ == '__main__':
    req = json.load(sys.stdin)
    (run_ck if req['client'] == 'ck' else run_kp)(req)
