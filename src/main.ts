import { runCli } from './cli/program';

// The process entry (`npm start`, `npm run cli -- …`, bin/webhook-gateway.js): the CLI in src/cli
// does the work; this file only connects it to the process.
const outcome = await runCli(process.argv.slice(2), {
  configLoader: async () => (await import('./config/env')).loadConfig,
  stdout: process.stdout,
  stderr: process.stderr,
});

// `start` keeps running until a signal stops it; every other command exits once its output is written.
if (outcome !== 'running') {
  process.exitCode = outcome;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(outcome)));
}
