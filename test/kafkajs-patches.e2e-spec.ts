import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { filterAbortedMessages } from '@logsplit/kafkajs-patches';
import { pipelineEnv } from './support/pipeline';
import { scrape, total } from './support/prometheus';
import { DIST, RunningService, ServiceName, startService } from './support/services';

const run = promisify(execFile);
const PATCHES = ['read-committed', 'produce-encoder'];
const INSTALL = join(DIST, 'libs/kafkajs-patches/src/install.js');

/** kafkajs patches (libs/kafkajs-patches) as the built services, the CLI and these tests run them. */
describe('kafkajs patches', () => {
  const p = pipelineEnv();
  const services: RunningService[] = [];

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
  }, 60_000);

  it.each<ServiceName>(['splitter', 'compressor', 'uploader'])(
    'the built %s runs with both patches live',
    async (name) => {
      const service = await startService(name, p.env);
      services.push(service);
      const samples = await scrape(service.metricsPort);
      for (const patch of PATCHES) {
        expect(total(samples, 'logsplit_kafkajs_patch', { patch })).toBe(1);
      }
      expect(readFileSync(service.logFile, 'utf8')).toContain(
        'kafkajs read-committed, produce-encoder patches live',
      );
    },
    90_000,
  );

  it('installs them first in every built main (services and CLI)', () => {
    const apps = readdirSync(join(DIST, 'apps'));
    expect(apps).toEqual(expect.arrayContaining(['cli', 'compressor', 'splitter', 'uploader']));
    for (const app of apps) {
      const main = readFileSync(join(DIST, 'apps', app, 'src/main.js'), 'utf8');
      // The CLI first refuses an old node (require-node loads nothing else).
      const requires = [...main.matchAll(/require\("([^"]+)"\)/g)]
        .map((m) => m[1])
        .filter((r) => r !== './require-node');
      expect([app, requires[0]]).toEqual([app, '../../../libs/kafkajs-patches/src/install.js']);
    }
  });

  it('stops a process loudly when kafkajs loaded before them', async () => {
    const script = `require('kafkajs'); require(${JSON.stringify(INSTALL)})`;
    const failed = run(process.execPath, ['-e', script]);
    await expect(failed).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(
        'KafkajsPatchError: kafkajs was loaded before its read-committed patch',
      ) as unknown,
    });
  });

  it('patches the read_committed filter of these tests too (jest setup)', () => {
    /* eslint-disable-next-line @typescript-eslint/no-require-imports -- the module kafkajs loads */
    expect(require('kafkajs/src/consumer/filterAbortedMessages')).toBe(filterAbortedMessages);
  });
});
