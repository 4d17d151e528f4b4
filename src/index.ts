// The `brook` package's public API.
export { startBroker, type EmbeddedBroker, type StartBrokerOptions } from './embedded.js';
export { BrookNode } from './node.js';
export { defaultConfig, resolveConfig, ConfigError, type NodeConfig } from './config.js';
export * from './client/index.js';
export { compress, decompress, CompressionError, CompressionCodecs, type CompressionName } from './compression/index.js';
