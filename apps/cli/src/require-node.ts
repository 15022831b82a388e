// Imported first by main.ts: refuses an old node before any module that needs a newer one loads.
import { nodeTooOld } from './node-version';

const problem = nodeTooOld();
if (problem) {
  process.stderr.write(problem);
  process.exit(1);
}
