import { Logger } from '@nestjs/common';
import { Admin, Kafka, KafkaMessage, Producer, Transaction } from 'kafkajs';
import { PartitionAssignment } from './partition-assignment';
import { TopicMessages } from './producer';

export interface PartitionTransactionsOptions {
  kafka: Kafka;
  /** The consumer group whose offsets the transactions commit. */
  groupId: string;
  /** Keeps producers only for partitions this member owns; revoked ones are disconnected. */
  assignment?: PartitionAssignment;
  /** Default `groupId`; the transactional id is `<prefix>-<topic>-<partition>`. */
  idPrefix?: string;
}

/** One open transaction for one input partition, handed to the work of `run`. */
export interface PartitionTransaction {
  /**
   * The records not yet committed: those below the offset the group had committed when this
   * producer fenced its predecessor were already written, atomically, by that predecessor.
   */
  pending(messages: KafkaMessage[]): KafkaMessage[];
  send(batches: TopicMessages[]): Promise<void>;
  /** Commits `nextOffset` for the input partition as part of this transaction. */
  sendOffsets(nextOffset: string): Promise<void>;
}

/**
 * Long enough for one batch's produce, short enough that a dead owner's open transaction stops
 * holding back read_committed consumers soon (a new owner aborts it at once anyway).
 */
const TRANSACTION_TIMEOUT_MS = 30_000;
/** AddOffsetsToTxn right after the previous commit may answer CONCURRENT_TRANSACTIONS (kafkajs#430). */
const SEND_OFFSETS_ATTEMPTS = 5;
const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);

interface Entry {
  topic: string;
  partition: number;
  producer: Producer;
  /** Resolves once the producer is connected and has fenced the partition's former owner. */
  ready: Promise<bigint>;
  /** Serialises transactions of one partition: a kafkajs producer runs one at a time. */
  tail: Promise<void>;
  retired: boolean;
}

/**
 * Exactly-once consume → produce for a consumer of `groupId`: per input partition, one
 * transactional producer whose output and consumed offset commit atomically.
 *
 * The transactional id is stable per input partition, so whoever owns the partition next fences
 * the former owner by initialising the same id: the broker aborts the former owner's open
 * transaction and refuses its later writes. kafkajs has no KIP-447 consumer-group-metadata
 * fencing, so this is the pre-KIP-447 pattern, with its one gap closed here: the new owner's
 * consumer may have read the committed offset before the former owner's last transaction
 * committed, so after fencing, the committed offset is read again and records below it are
 * skipped (`pending`).
 */
export class PartitionTransactions {
  private readonly log = new Logger(PartitionTransactions.name);
  private readonly entries = new Map<string, Entry>();
  private admin?: Promise<Admin>;
  private readonly unsubscribe?: () => void;
  private closed = false;

  constructor(private readonly options: PartitionTransactionsOptions) {
    const { assignment } = options;
    this.unsubscribe = assignment?.onChange((now) => {
      for (const e of this.entries.values()) {
        if (!assignment.owns(e.topic, e.partition)) this.retire(e);
      }
      // Fence at once rather than at the first batch, so that work overlaps the first fetch.
      if (this.closed) return;
      for (const [topic, partitions] of Object.entries(now)) {
        for (const partition of partitions) this.entryFor(topic, partition);
      }
    });
  }

  /**
   * Runs `work` in a transaction of the partition's producer: commits when it resolves, aborts
   * when it throws. After a failure the producer is dropped; the next run starts a fresh one,
   * which fences again, so a half-done transaction can never be committed later.
   */
  async run<T>(
    topic: string,
    partition: number,
    work: (txn: PartitionTransaction) => Promise<T>,
  ): Promise<T> {
    if (this.closed) throw new Error(`transactions of ${this.options.groupId} are closed`);
    const entry = this.entryFor(topic, partition);
    const previous = entry.tail;
    let done!: () => void;
    entry.tail = new Promise<void>((resolve) => (done = resolve));
    await previous;
    try {
      if (entry.retired)
        throw new Error(`${topic}[${partition}]: producer retired (revoked or failed)`);
      return await this.transact(entry, work);
    } catch (err) {
      this.retire(entry);
      if (isFenced(err)) {
        throw new Error(
          `${topic}[${partition}]: producer ${this.transactionalId(topic, partition)} was fenced ` +
            'by a newer owner of the partition; the batch is left to it',
          { cause: err },
        );
      }
      throw err;
    } finally {
      done();
    }
  }

  private async transact<T>(
    entry: Entry,
    work: (txn: PartitionTransaction) => Promise<T>,
  ): Promise<T> {
    const committed = await entry.ready;
    const tx: Transaction = await entry.producer.transaction();
    const { topic, partition } = entry;
    try {
      const result = await work({
        pending: (messages) => messages.filter((m) => BigInt(m.offset) >= committed),
        send: async (batches) => {
          const topicMessages = batches.filter((b) => b.messages.length > 0);
          if (topicMessages.length > 0) await tx.sendBatch({ topicMessages, acks: -1 });
        },
        sendOffsets: (nextOffset) =>
          sendOffsets(tx, {
            consumerGroupId: this.options.groupId,
            topics: [{ topic, partitions: [{ partition, offset: nextOffset }] }],
          }),
      });
      await tx.commit();
      return result;
    } catch (err) {
      if (tx.isActive()) await tx.abort().catch(() => undefined); // dropped either way
      throw err;
    }
  }

  private entryFor(topic: string, partition: number): Entry {
    const key = `${topic}:${partition}`;
    const existing = this.entries.get(key);
    if (existing && !existing.retired) return existing;
    const producer = this.options.kafka.producer({
      transactionalId: this.transactionalId(topic, partition),
      transactionTimeout: TRANSACTION_TIMEOUT_MS,
      // transaction() sends idempotently regardless; `idempotent` here would only fetch a second,
      // unused producer id at connect (and warn about bounded retries, harmless under transactions).
      idempotent: false,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    const entry: Entry = {
      topic,
      partition,
      producer,
      ready: this.fence(producer, topic, partition),
      // A retired predecessor may still be finishing; start after it.
      tail: existing?.tail ?? Promise.resolve(),
      retired: false,
    };
    entry.ready.catch(() => undefined); // observed by run(); no unhandled rejection meanwhile
    this.entries.set(key, entry);
    return entry;
  }

  /** Connects, fences the former owner (InitProducerId of the same id), reads the committed offset. */
  private async fence(producer: Producer, topic: string, partition: number): Promise<bigint> {
    await producer.connect();
    // The first transaction() initialises the transactional id; nothing is sent in it.
    const probe = await producer.transaction();
    await probe.abort();
    const admin = await this.adminClient();
    const [offsets] = await admin.fetchOffsets({ groupId: this.options.groupId, topics: [topic] });
    const found = offsets?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
    const committed = BigInt(found) < 0n ? 0n : BigInt(found);
    this.log.log(
      `${topic}[${partition}]: transactional producer ${this.transactionalId(topic, partition)} ready, committed offset ${committed}`,
    );
    return committed;
  }

  private adminClient(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.options.kafka.admin();
      await admin.connect();
      return admin;
    })();
    this.admin.catch(() => (this.admin = undefined));
    return this.admin;
  }

  private transactionalId(topic: string, partition: number): string {
    return `${this.options.idPrefix ?? this.options.groupId}-${topic}-${partition}`;
  }

  /** Disconnects the partition's producer once its running transaction has ended. */
  private retire(entry: Entry): void {
    if (entry.retired) return;
    entry.retired = true;
    entry.tail = entry.tail.then(() => entry.producer.disconnect().catch(() => undefined));
  }

  /** Disconnects every producer after its running transaction; later `run` calls fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const e of entries) this.retire(e);
    await Promise.all(entries.map((e) => e.tail));
    const admin = await this.admin?.catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
  }
}

async function sendOffsets(
  tx: Transaction,
  offsets: Parameters<Transaction['sendOffsets']>[0],
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await tx.sendOffsets(offsets);
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (type !== 'CONCURRENT_TRANSACTIONS' || attempt >= SEND_OFFSETS_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

function isFenced(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (FENCED.has((e as { type?: string }).type ?? '')) return true;
  }
  return false;
}
