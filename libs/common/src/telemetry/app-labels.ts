/** Label value shared by every app that does not get its own. */
export const OTHER_APP = 'other';
/** Label value of records whose app is not known yet (raw records); never a valid app id. */
export const NO_APP = '-';

/**
 * Bounds the `app` label of per-app metrics: a Prometheus series per app id would grow without
 * limit (ids come from the data). With an allow-list exactly those apps get their own label;
 * otherwise the first `limit` distinct apps seen do (admission, not a moving top-K: a series
 * that appeared never vanishes mid-run, so rates stay correct). Everything else is "other".
 */
export class AppLabels {
  private readonly admitted = new Set<string>();
  private readonly allow?: ReadonlySet<string>;

  constructor(
    private readonly limit: number,
    allowList?: readonly string[],
  ) {
    if (allowList && allowList.length > 0) this.allow = new Set(allowList);
  }

  label(app: string): string {
    if (this.allow) return this.allow.has(app) && app !== NO_APP ? app : OTHER_APP;
    if (this.admitted.has(app)) return app;
    if (this.admitted.size < this.limit && app !== OTHER_APP && app !== NO_APP) {
      this.admitted.add(app);
      return app;
    }
    return OTHER_APP;
  }
}
