import { conservationRun } from './support/conservation';

/**
 * The product's central promise on a calm day: every record accepted on the raw topic is in
 * exactly one archived file of its app, and every bad record is in the dead-letter topic.
 * (The same run through secured listeners: kafka-security.e2e-spec.ts.)
 */
describe('conservation: raw topic → archives, per app, exactly', () => {
  it('archives every good record exactly once, in its own app, and every bad one in the DLQ', async () => {
    const r = await conservationRun(50_000, 200);
    process.stderr.write(`conservation: ${r.summary}\n`);
  }, 460_000);
});
