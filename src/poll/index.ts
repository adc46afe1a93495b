// Pull polling (SPS Commerce-style): what the composition root needs. See docs/polling.md.
export { pollSourceSchema, pollSourcesSchema, type PollSourceInput, type PollSourceOptions } from './config';
export { createPollRoutes, type PollRoutesDeps } from './routes';
export { createPollRunLog, type PollRunLog } from './run-log';
export { createPollRunner, type PollRunner, type PollRunnerDeps, type RunSummary, type TriggerResult } from './runner';
export { createPollScheduler, type PollScheduler } from './scheduler';
