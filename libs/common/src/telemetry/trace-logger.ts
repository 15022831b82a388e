import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { isSpanContextValid, trace } from '@opentelemetry/api';

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
 * its trace in Jaeger and a trace to its log lines.
 */
export class TraceLogger extends ConsoleLogger {
  protected override getJsonLogObject(message: unknown, options: JsonLogOptions): JsonLogLine {
    const line: JsonLogLine = super.getJsonLogObject(message, options);
    const sc = trace.getActiveSpan()?.spanContext();
    if (sc && isSpanContextValid(sc)) {
      line.trace_id = sc.traceId;
      line.span_id = sc.spanId;
    }
    return line;
  }
}
