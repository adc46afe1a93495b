import { extname } from 'node:path';
import { readTextFileLimited } from '../config/read-text-file';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { describePlan, planApply, PlanError, type DesiredSource, type PlanStep } from '../control/plan';
import type { SourceView } from '../control/view';
import {
  describeDestinationPlan,
  planDestinations,
  type DesiredDestination,
  type DestinationStep,
} from '../control/destination-plan';
import type { DestinationView } from '../control/destination-view';
import {
  answerTimeout,
  CliError,
  gatewayUrl,
  opsToken,
  usageError,
  type CliContext,
  type ConnectionOptions,
} from './context';
import { withConnection } from './events';
import type { AlertsConfig } from '../alerts/config';
import { describeAlertPlan } from '../control/alert-plan';
import { carryOutAlertStep, planAlertChanges } from './apply-alerts';
import { carryOut, carryOutDestination, versionsOf } from './apply-steps';
import { createOpsClient } from './ops-client';
import { parseExact } from '../json/exact-values';

/**
 * `apply -f gateway.yaml [--dry-run] [--prune]`: the GitOps path. The file is validated exactly as
 * GATEWAY_CONFIG is (env: secrets resolved from this shell's environment), the plan is printed,
 * then carried out through the ops API: its push sources, its destinations, and its `alerts:`
 * channels and rules when it has that section (src/cli/apply-alerts.ts).
 */
export function applyCommand(ctx: CliContext): Command {
  return withConnection(
    new Command('apply').description(
      "make the gateway's runtime sources match a config file (plan first, like terraform plan)",
    ),
  )
    .requiredOption('-f, --file <path>', 'the config file (.yaml, .yml or .json), as for GATEWAY_CONFIG')
    .option('--dry-run', 'print the plan and change nothing')
    .option(
      '--overlap <seconds>',
      "how long a source's previous secrets stay valid when the file brings a new one",
      '86400',
    )
    .option('--prune', "also delete alert rules and channels the file's alerts: section does not list")
    .action(
      async (options: ConnectionOptions & { file: string; dryRun?: boolean; overlap: string; prune?: boolean }) => {
        const overlap = Number(options.overlap);
        if (!Number.isInteger(overlap) || overlap < 0)
          throw usageError('--overlap must be a whole number of seconds, 0 or more');
        const { sources: desired, destinations: desiredDestinations, alerts } = await readDesired(options.file);
        const client = createOpsClient(gatewayUrl(ctx, options), opsToken(ctx, options), answerTimeout(options));
        const alertSteps = alerts ? await planAlertChanges(client, alerts, options.prune ?? false) : [];
        const { sources } = await client.get<{ sources: SourceView[] }>('/api/sources');
        // Read exactly: a filter's 820982911946154508 compared with the file's, not JSON.parse's ...500.
        const { destinations } = parseExact(await client.getText('/api/destinations')) as {
          destinations: DestinationView[];
        };
        const polls = await client.get<{ sources: { name: string }[] }>('/api/sps/sources');
        // Below admin the gateway withholds sources' spec and redacts destination URLs: the plan
        // compares what it was shown, and says so, instead of reporting every one as changed.
        const { role } = await client.get<{ role: string }>('/api/whoami');
        const shown = { specsWithheld: role !== 'admin', redactedUrls: role !== 'admin' };
        let steps: PlanStep[];
        let destinationSteps: DestinationStep[];
        try {
          // A section the file leaves out is left alone, as alerts are: an alerts-only file deleted
          // every source and destination an earlier apply had made (their secrets with them).
          steps = desired
            ? planApply(
                desired,
                sources,
                polls.sources.map((p) => p.name),
                shown,
              )
            : [];
          // The push sources once the source steps are done: those kept, and those of the file.
          const deleted = new Set(steps.filter((s) => s.action === 'delete').map((s) => s.name));
          const sourcesAfter = new Set([
            ...sources.map((s) => s.name).filter((n) => !deleted.has(n)),
            ...(desired ?? []).map((d) => d.name),
          ]);
          destinationSteps = desiredDestinations
            ? planDestinations(desiredDestinations, destinations, sourcesAfter, shown)
            : [];
        } catch (err) {
          if (err instanceof PlanError) throw new CliError(`apply: ${err.message}`, 2);
          throw err;
        }
        if (desired) for (const line of describePlan(steps, overlap, shown)) ctx.out(line);
        else ctx.out('No sources: section in the file: sources are left as they are.');
        if (desiredDestinations) for (const line of describeDestinationPlan(destinationSteps, shown)) ctx.out(line);
        else ctx.out('No destinations: section in the file: destinations are left as they are.');
        if (alerts) for (const line of describeAlertPlan(alertSteps)) ctx.out(line);
        const total = steps.length + destinationSteps.length + alertSteps.length;
        if (options.dryRun || total === 0) return;
        // Sources first: a new destination may serve a source this apply creates. Each step is sent
        // with the version its plan was read from (If-Match, src/cli/apply-steps.ts).
        const sourceVersions = versionsOf(sources);
        const destinationVersions = versionsOf(destinations);
        for (const step of steps) await carryOut(client, step, overlap, sourceVersions);
        for (const step of destinationSteps) await carryOutDestination(client, step, destinationVersions);
        for (const step of alertSteps) await carryOutAlertStep(client, step);
        ctx.out(`Applied ${total} change(s).`);
      },
    );
}

/**
 * The file's push sources as written (for the API), with env: secrets resolved, its destinations,
 * and its alerts section; each undefined when the file has no such section (apply then leaves that
 * kind alone; an empty list deletes what an earlier apply made). Validated first.
 */
async function readDesired(
  path: string,
): Promise<{ sources?: DesiredSource[]; destinations?: DesiredDestination[]; alerts?: AlertsConfig }> {
  const [{ SourcesFileError }, { loadOtherGatewayFile }] = await Promise.all([
    import('../config/file'),
    import('../config/env'),
  ]);
  let parsed;
  try {
    parsed = loadOtherGatewayFile(path);
  } catch (err) {
    if (err instanceof SourcesFileError) throw new CliError(`apply: ${err.message}`, 2);
    throw err;
  }
  // Valid, so it reads and parses; the raw entries are what the API stores (defaults not filled in).
  const text = readTextFileLimited(path);
  const document = (extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text)) as {
    sources?: Record<string, unknown>[];
    destinations?: unknown;
    alerts?: unknown;
  };
  const sources = (document.sources ?? []).map((raw, index) => {
    const { name: _n, provider, secrets: _s, ...spec } = raw;
    const source = parsed.sources[index]!;
    return { name: source.name, provider: String(provider), spec, secrets: [...source.secrets] };
  });
  const destinations = parsed.destinations.map((d) => ({
    name: d.name,
    url: d.url,
    timeoutMs: d.timeoutMs,
    headers: d.headers ?? {},
    filter: d.filter ?? null,
    transform: d.transform ?? null,
    // Back to the API's snake_case, unset keys left out (apply compares canonical JSON).
    rateLimit: d.rateLimit
      ? {
          ...(d.rateLimit.perSecond ? { per_second: d.rateLimit.perSecond } : {}),
          ...(d.rateLimit.perMinute ? { per_minute: d.rateLimit.perMinute } : {}),
        }
      : null,
    circuit: d.circuit
      ? { failure_threshold: d.circuit.failureThreshold, cooldown_seconds: d.circuit.cooldownSeconds }
      : null,
    sources: d.sources,
    secret: d.secret,
  }));
  return {
    sources: document.sources === undefined ? undefined : sources,
    destinations: document.destinations === undefined ? undefined : destinations,
    alerts: document.alerts === undefined ? undefined : parsed.alerts,
  };
}
