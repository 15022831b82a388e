import { mulberry32 } from '@logsplit/common/util';
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

export interface RandomFaultOptions {
  /** Share of requests that fail, 0..1. */
  rate: number;
  /** Faults to pick from, uniformly (default 503, 500, 'reset', 'hang'). */
  faults?: InjectedFault[];
  /**
   * Share of the failing requests that are carried out before they fail (the "ack lost" case:
   * the object is stored, the client sees an error or a timeout). Default 0.5.
   */
  afterApplyRate?: number;
  /** Same seed, same sequence of decisions for the same sequence of requests. */
  seed?: number;
}

const DEFAULT_RANDOM_FAULTS: InjectedFault[] = [503, 500, 'reset', 'hang'];

/** Fails a random share of requests, from a seeded generator so a failing run can be replayed. */
export class RandomFaults {
  private readonly rate: number;
  private readonly faults: InjectedFault[];
  private readonly afterApplyRate: number;
  private readonly next: () => number;

  constructor(opts: RandomFaultOptions) {
    if (!(opts.rate >= 0 && opts.rate <= 1)) {
      throw new Error(`failRandomly: rate must be within 0..1, got ${opts.rate}`);
    }
    this.rate = opts.rate;
    this.faults = opts.faults?.length ? opts.faults : DEFAULT_RANDOM_FAULTS;
    this.afterApplyRate = opts.afterApplyRate ?? 0.5;
    this.next = mulberry32(opts.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  take(): { fault: InjectedFault; afterApply: boolean } | undefined {
    if (this.next() >= this.rate) return undefined;
    const fault = this.faults[Math.floor(this.next() * this.faults.length)];
    return { fault, afterApply: this.next() < this.afterApplyRate };
  }
}
