import { roleNeeded } from '../sources/roles';
import { useState } from 'preact/hooks';
import type { BulkReplayResult, EventFilter } from '../../api/types';
import { Notice, plural } from '../../components/format';
import { useRole } from '../../hooks/useRole';
import { useApi } from '../../session';
import { hasFilter } from './filters';
import { NotSearchedNote } from './NotSearchedNote';

type Step =
  | { kind: 'idle' }
  | { kind: 'busy' }
  | { kind: 'counted'; matched: number; notSearched: BulkReplayResult['not_searched'] }
  | { kind: 'done'; result: BulkReplayResult }
  | { kind: 'error'; message: string };

/**
 * Replays every event matching the list's filters (POST /api/events/replay): a dry run first counts
 * them, and only then is "Replay N events" offered. Needs at least one filter.
 */
export function BulkReplay({ filter, onReplayed }: { filter: EventFilter; onReplayed(): void }) {
  const api = useApi();
  const [step, setStep] = useState<Step>({ kind: 'idle' });
  const filtered = hasFilter(filter);
  const operator = useRole('operator');

  const run = async (dryRun: boolean) => {
    setStep({ kind: 'busy' });
    try {
      const result = await api.bulkReplay(filter, dryRun);
      setStep(
        dryRun
          ? { kind: 'counted', matched: result.matched, notSearched: result.not_searched }
          : { kind: 'done', result },
      );
      if (!dryRun) onReplayed();
    } catch (err) {
      setStep({ kind: 'error', message: (err as Error).message });
    }
  };

  return (
    <details class="bulk-replay">
      <summary>Replay all events matching these filters</summary>
      {!operator.may ? (
        <p class="muted">
          {operator.role
            ? roleNeeded('Replaying needs', 'operator', operator.role)
            : 'Checking what this token may do…'}
        </p>
      ) : !filtered ? (
        <p class="muted">
          Set a filter first (a status, a source, a time range…): replaying every event is not offered here.
        </p>
      ) : (
        <div class="bulk-body">
          <p class="muted">
            Each matching event becomes due now; history is kept and failed events get a fresh set of attempts. Events
            being processed are skipped.
          </p>
          {step.kind === 'counted' ? (
            <>
              <Notice kind="info">{plural(step.matched, 'event')} match these filters.</Notice>
              <NotSearchedNote notSearched={step.notSearched} />
            </>
          ) : null}
          {step.kind === 'done' ? (
            <Notice kind="ok">
              Replayed {plural(step.result.replayed, 'event')}
              {step.result.matched > step.result.replayed
                ? ` (${step.result.matched - step.result.replayed} skipped: being processed).`
                : '.'}
            </Notice>
          ) : null}
          {step.kind === 'error' ? <Notice kind="error">{step.message}</Notice> : null}
          <div class="actions">
            <button type="button" class="secondary" disabled={step.kind === 'busy'} onClick={() => run(true)}>
              Count matching events
            </button>
            {step.kind === 'counted' && step.matched > 0 ? (
              <button type="button" class="danger" onClick={() => run(false)}>
                Replay {plural(step.matched, 'event')}
              </button>
            ) : null}
          </div>
        </div>
      )}
    </details>
  );
}
