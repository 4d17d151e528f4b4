/**
 * The admin apis: topics (CreateTopics, DeleteTopics, CreatePartitions), records
 * (DeleteRecords) and configs (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs). Each
 * group lives in its own admin-*.ts file; this one gathers them for the dispatch table.
 */
import type { HandlerEntry } from '../context.js';
import { alterConfigs, describeConfigs, incrementalAlterConfigs } from './admin-configs.js';
import { deleteRecords } from './admin-records.js';
import { createPartitions, createTopics, deleteTopics } from './admin-topics.js';

export { alterConfigs, describeConfigs, incrementalAlterConfigs } from './admin-configs.js';
export { deleteRecords } from './admin-records.js';
export { createPartitions, createTopics, deleteTopics } from './admin-topics.js';

export const adminHandlers = [createTopics, deleteTopics, createPartitions, deleteRecords, describeConfigs, alterConfigs, incrementalAlterConfigs] as HandlerEntry[];
