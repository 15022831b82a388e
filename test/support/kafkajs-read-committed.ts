// kafkajs' consumer requires './filterAbortedMessages'; jest.config.js maps that request here so
// test readers get the same read_committed fix the services install (libs/common/src/kafka/read-committed.ts).
import { filterAbortedMessages } from '../../libs/common/src/kafka/read-committed';

export = filterAbortedMessages;
