#!/usr/bin/env node
// First: an old node is refused with a message before the codecs fail to load on it.
import './require-node';
import { Command } from 'commander';
import { registerApps } from './apps.command';
import { registerHealth } from './health.command';
import { registerLogs } from './logs.command';
import { registerProduceDemo } from './produce-demo.command';

/** `logsplit <command>`: read archived logs back, and feed the pipeline demo data. */
async function main(): Promise<void> {
  const program = new Command('logsplit')
    .description(
      'logsplit command line: settings come from the same environment variables as the services',
    )
    .showHelpAfterError();
  registerLogs(program);
  registerApps(program);
  registerProduceDemo(program);
  registerHealth(program);
  await program.parseAsync(process.argv);
}

// `logsplit logs ... | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main().then(
  // Idle keep-alive sockets of the OSS client would hold the process open; the output is flushed.
  () => process.stdout.write('', () => process.exit(process.exitCode ?? 0)),
  (err: unknown) => {
    process.stderr.write(`logsplit: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
