import { ArgumentsHost, Catch, RpcExceptionFilter } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';

/**
 * Hands a handler's error to the transport exactly as it was thrown. Nest's default RPC filter
 * logs it and replaces it with `{ status: 'error', message: 'Internal server error' }`, which
 * would hide from KafkaBatchServer what the batch is waiting for (BackpressureError.reason, a
 * Redis or disk error) and so why the partition is paused.
 */
@Catch()
export class RethrowFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}
