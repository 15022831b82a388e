/** What an injected failure does: answer with an HTTP status, drop the connection, or never answer. */
export type InjectedFault = number | 'reset' | 'hang';

export interface FaultMatch {
  method?: string;
  key?: string;
  /** Carry the request out first (store the object, ...), then fail: the "ack lost" case. */
  afterApply?: boolean;
}

interface Fault {
  remaining: number;
  fault: InjectedFault;
  match: FaultMatch;
}

/** Failures queued by tests, taken in the order they were queued by the requests they match. */
export class FaultQueue {
  private faults: Fault[] = [];

  add(n: number, fault: InjectedFault, match: FaultMatch): void {
    if (n > 0) this.faults.push({ remaining: n, fault, match });
  }

  take(method: string, key: string): { fault: InjectedFault; afterApply: boolean } | undefined {
    const f = this.faults.find(
      ({ match }) =>
        (match.method === undefined || match.method === method) &&
        (match.key === undefined || match.key === key),
    );
    if (!f) return undefined;
    if (--f.remaining === 0) this.faults = this.faults.filter((x) => x !== f);
    return { fault: f.fault, afterApply: f.match.afterApply === true };
  }

  clear(): void {
    this.faults = [];
  }
}
