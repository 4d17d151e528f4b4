export function natsSystem() { return { system: 'NATS JetStream', unavailable: 'driver not written yet', clients: [] }; }
