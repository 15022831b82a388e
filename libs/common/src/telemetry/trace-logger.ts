import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { redactSecrets } from '../config/secrets';

interface JsonLogOptions {
  context: string;
  logLevel: LogLevel;
  writeStreamType?: 'stdout' | 'stderr';
  errorStack?: unknown;
}

interface JsonLogLine {
  level: LogLevel;
  pid: number;
  timestamp: number;
  message: unknown;
  context?: string;
  stack?: unknown;
  trace_id?: string;
  span_id?: string;
}

/**
 * Nest's JSON console logger plus the active span's trace_id and span_id, so a log line leads to
 * its trace in Jaeger and a trace to its log lines; known secret values are masked.
 */
export class TraceLogger extends ConsoleLogger {
  protected override getJsonLogObject(message: unknown, options: JsonLogOptions): JsonLogLine {
    const line: JsonLogLine = super.getJsonLogObject(message, options);
    // Drivers' errors can quote what they were given (a URL with its password, a header).
    if (typeof line.message === 'string') line.message = redactSecrets(line.message);
    if (typeof line.stack === 'string') line.stack = redactSecrets(line.stack);
    const sc = trace.getActiveSpan()?.spanContext();
    if (sc && isSpanContextValid(sc)) {
      line.trace_id = sc.traceId;
      line.span_id = sc.spanId;
    }
    return line;
  }
}
