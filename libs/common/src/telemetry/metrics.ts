import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AppLabels } from './app-labels';

const SIZE_BUCKETS = [
  1 << 10,
  16 << 10,
  128 << 10,
  1 << 20,
  4 << 20,
  16 << 20,
  64 << 20,
  256 << 20,
];
const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60];
const RATIO_BUCKETS = [1, 1.5, 2, 3, 4, 6, 8, 12, 16, 32];

/**
 * Every Prometheus metric of a service. One class for all three services: a metric a service
 * never touches is still exported (at zero, or without samples), so dashboards need no per-service
 * variants. Per-app series go through AppLabels, which bounds their number.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly apps: AppLabels;

  readonly recordsIn: Counter<'app'>;
  readonly bytesIn: Counter<'app'>;
  readonly recordsOut: Counter<'app'>;
  readonly bytesOut: Counter<'app'>;
  readonly dlqRecords: Counter<'reason'>;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly admittedApps: Gauge;
  readonly consumerPaused: Gauge<'topic' | 'partition' | 'reason'>;
  readonly consumerPauses: Counter<'topic' | 'reason'>;
  readonly chunkBytes: Histogram;
  readonly segmentBytes: Histogram;
  readonly compressionRatio: Histogram;
  readonly lockWait: Histogram;
  readonly lockContended: Counter;
  readonly openSegments: Gauge;
  readonly spoolPendingBytes: Gauge;
  readonly uploadDuration: Histogram;
  readonly uploadErrors: Counter<'step'>;
  readonly storeRetries: Counter<'op'>;
  readonly uploadsAwaitingCommit: Gauge;
  readonly uploadCommitWait: Gauge;

  constructor(service: string, appLabelLimit: number, appAllowList?: readonly string[]) {
    this.apps = new AppLabels(appLabelLimit, appAllowList);
    this.registry.setDefaultLabels({ service });
    const registers = [this.registry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name, help, labelNames, registers });
    const histogram = (name: string, help: string, buckets: number[]) =>
      new Histogram({ name, help, buckets, registers });
    const gauge = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Gauge<L>({ name, help, labelNames, registers });

    this.recordsIn = counter(
      'logsplit_records_in_total',
      'Records consumed (splitter: raw records; compressor: records in chunks)',
      ['app'],
    );
    this.bytesIn = counter('logsplit_bytes_in_total', 'Bytes of the records consumed', ['app']);
    this.recordsOut = counter(
      'logsplit_records_out_total',
      'Records written on (splitter: in chunks; compressor: appended; uploader: archived)',
      ['app'],
    );
    this.bytesOut = counter(
      'logsplit_bytes_out_total',
      'Bytes written on (splitter: chunk payloads; compressor: compressed blocks; uploader: objects)',
      ['app'],
    );
    this.dlqRecords = counter(
      'logsplit_dlq_records_total',
      'Records sent to the dead-letter topic, by reason',
      ['reason'],
    );
    this.consumerLag = gauge(
      'logsplit_consumer_lag',
      'Messages behind the high watermark after the last batch, per partition',
      ['topic', 'partition'],
    );
    this.consumerPaused = gauge(
      'logsplit_consumer_paused',
      '1 while a partition is paused because its batch keeps failing (reason: spool, redis, store, kafka, error)',
      ['topic', 'partition', 'reason'],
    );
    this.consumerPauses = counter(
      'logsplit_consumer_pauses_total',
      'Times a partition was paused for backpressure, by reason',
      ['topic', 'reason'],
    );
    this.admittedApps = new Gauge({
      name: 'logsplit_admitted_apps',
      help: 'App ids the splitter holds active against LOGSPLIT_MAX_APPS (per instance)',
      registers,
    });
    this.chunkBytes = histogram('logsplit_chunk_bytes', 'Payload size of chunks', SIZE_BUCKETS);
    this.segmentBytes = histogram(
      'logsplit_segment_bytes',
      'Compressed size of uploaded segments',
      SIZE_BUCKETS,
    );
    this.compressionRatio = histogram(
      'logsplit_compression_ratio',
      'Raw bytes / compressed bytes per block',
      RATIO_BUCKETS,
    );
    this.lockWait = histogram(
      'logsplit_lock_wait_seconds',
      'Time to acquire an app writer slot',
      SECONDS_BUCKETS,
    );
    this.lockContended = new Counter({
      name: 'logsplit_lock_contended_total',
      help: 'Slot acquisitions that found the lowest slot taken (another writer of the app)',
      registers,
    });
    this.openSegments = new Gauge({
      name: 'logsplit_open_segments',
      help: 'Open segments on the spool at the last upload pass',
      registers,
    });
    this.spoolPendingBytes = new Gauge({
      name: 'logsplit_spool_pending_bytes',
      help: 'Data bytes on the spool not yet archived (open and sealed segments), last pass',
      registers,
    });
    this.uploadDuration = histogram(
      'logsplit_upload_duration_seconds',
      'Time to upload, verify and index one segment',
      SECONDS_BUCKETS,
    );
    this.uploadErrors = counter(
      'logsplit_upload_errors_total',
      'Failed segment uploads, by the step that failed (seal, commit-check, upload, verify, index, delete)',
      ['step'],
    );
    this.storeRetries = counter(
      'logsplit_store_retries_total',
      'Object store requests retried after a retryable failure (5xx, timeout, reset), by operation',
      ['op'],
    );
    this.uploadsAwaitingCommit = new Gauge({
      name: 'logsplit_uploads_awaiting_commit',
      help: "Sealed segments held back because the compressor has not committed their blocks' input offsets",
      registers,
    });
    this.uploadCommitWait = new Gauge({
      name: 'logsplit_upload_commit_wait_seconds',
      help: 'How long the longest-held segment has waited for the compressor to commit (a stuck compressor shows here)',
      registers,
    });
  }

  /** The bounded label value for an app id. */
  app(app: string): string {
    return this.apps.label(app);
  }

  /** Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
