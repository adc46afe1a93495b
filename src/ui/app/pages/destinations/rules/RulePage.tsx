import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError } from '../../../api/client';
import { rulesApi, type RulePatch } from '../../../api/rules';
import { sourcesApi } from '../../../api/sources';
import { Notice } from '../../../components/format';
import { useResource } from '../../../hooks/useResource';
import { useTitle } from '../../../hooks/useTitle';
import { useApi } from '../../../session';
import { allows, roleNeeded } from '../../sources/roles';
import { PreviewPanel } from './PreviewPanel';
import { RuleBuilder } from './RuleBuilder';
import { TransformEditor } from './TransformEditor';
import { draftFilter, editingOf, pretty, REFUSED, type Editing } from './rule-editing';
import { fromFilter } from './rule-model';

/**
 * /ui/destinations/:name — the destination's rule: "when [sources, topic, conditions] then deliver
 * here [transformed]", with a live preview. Saves exactly the destination's sources, filter and
 * transform with PATCH and If-Match (admin); operators preview; viewers read.
 */
export function RulePage({ name }: { name: string }) {
  useTitle(`Rule · ${name}`);
  const api = useApi();
  const rules = useMemo(() => rulesApi(api), [api]);
  const sources = useMemo(() => sourcesApi(api), [api]);
  const who = useResource((signal) => sources.whoami(signal), [sources]);
  const known = useResource((signal) => sources.list(signal), [sources]);
  const loaded = useResource((signal) => rules.destination(name, signal), [name]);
  const [editing, setEditing] = useState<Editing>();
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string; stale?: boolean }>();
  const [busy, setBusy] = useState(false);

  const d = loaded.data;
  useEffect(() => {
    if (d) setEditing(editingOf(d));
  }, [d]);

  const role = who.data?.role;
  // Operators may try changes against the live preview (the API lets them preview, not save);
  // admins save database destinations; the file's are changed in the file.
  const canSave = d?.managed_by === 'database' && allows(role, 'admin');
  const readOnly = !allows(role, 'operator');
  if (loaded.error) {
    const text =
      loaded.error instanceof ApiError && loaded.error.status === 404
        ? `There is no destination "${name}".`
        : loaded.error.message;
    return (
      <>
        <Back />
        <h1 tabIndex={-1}>Rule of {name}</h1>
        <Notice kind="error">{text}</Notice>
      </>
    );
  }
  if (!d || !editing) return <p class="muted">Loading the destination…</p>;

  const { filter, problem } = draftFilter(editing);
  const edit = (change: Partial<Editing>) => {
    setMessage(undefined);
    setEditing({ ...editing, ...change });
  };
  const switchTab = (tab: Editing['tab']) => {
    if (tab === editing.tab) return;
    if (tab === 'json') return edit({ tab, json: problem ? editing.json : pretty(filter), builderRefused: undefined });
    const rule = problem ? undefined : fromFilter(filter);
    if (rule) edit({ tab, rule, builderRefused: undefined });
    else edit({ builderRefused: problem ?? REFUSED });
  };
  // transform goes out only when the gateway has transformations (its view has the key) or one is set.
  const withTransform = 'transform' in d || editing.transform !== null;
  const patch: RulePatch = {
    sources: editing.sources,
    filter,
    ...(withTransform ? { transform: editing.transform } : {}),
  };

  const save = async () => {
    if (!canSave) return;
    if (problem) return setMessage({ kind: 'error', text: problem });
    setBusy(true);
    try {
      await rules.save(d, patch);
      setMessage({ kind: 'ok', text: 'Saved. The rule applies to the next delivery attempt on every instance.' });
      loaded.reload();
    } catch (err) {
      const stale = err instanceof ApiError && err.status === 412;
      setMessage({
        kind: 'error',
        stale,
        text: stale
          ? 'This destination was changed elsewhere since you opened it: reload to see the current rule.'
          : (err as Error).message,
      });
    } finally {
      setBusy(false);
    }
  };

  const all = [
    ...new Set([...(known.data?.sources.map((s) => s.name) ?? []), ...d.sources, ...editing.sources]),
  ].sort();
  return (
    <>
      <Back />
      <h1 tabIndex={-1}>
        Rule of <span class="mono">{d.name}</span>
      </h1>
      <p class="muted">
        {canSave
          ? 'Changes apply to the next delivery attempt of every event once saved.'
          : d.managed_by === 'file'
            ? 'Declared in the config file: changed there. Edits here only try the rule in the preview.'
            : readOnly
              ? `Read-only. ${role ? roleNeeded('Changing a rule needs', 'admin', role) : ''}`
              : `${role ? roleNeeded('Saving needs', 'admin', role) : ''} Edits here only try the rule in the preview.`}
      </p>
      <div class="rule-layout">
        <form
          class="rule-form"
          aria-label="Rule"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <h2>When</h2>
          <fieldset class="rule-sources">
            <legend>Events of the sources</legend>
            {all.map((s) => (
              <label class="check" key={s}>
                <input
                  type="checkbox"
                  checked={editing.sources.includes(s)}
                  disabled={readOnly}
                  onChange={(e) =>
                    edit({
                      sources: e.currentTarget.checked
                        ? [...editing.sources, s]
                        : editing.sources.filter((x) => x !== s),
                    })
                  }
                />
                {s}
              </label>
            ))}
          </fieldset>
          <div class="tabs" role="tablist" aria-label="Edit the conditions as">
            {(['builder', 'json'] as const).map((tab) => (
              <button
                key={tab}
                type="button"
                role="tab"
                class={editing.tab === tab ? 'tab current' : 'tab'}
                aria-selected={editing.tab === tab}
                onClick={() => switchTab(tab)}
              >
                {tab === 'builder' ? 'Builder' : 'JSON'}
              </button>
            ))}
          </div>
          {editing.builderRefused ? <Notice kind="info">{editing.builderRefused}</Notice> : null}
          {editing.tab === 'builder' ? (
            <RuleBuilder rule={editing.rule} readOnly={readOnly} onChange={(rule) => edit({ rule })} />
          ) : (
            <div class="field">
              <label for="rule-json">Filter (JSON; empty for every event)</label>
              <textarea
                id="rule-json"
                class="mono code"
                rows={12}
                spellcheck={false}
                readOnly={readOnly}
                value={editing.json}
                onInput={(e) => edit({ json: e.currentTarget.value })}
              />
            </div>
          )}
          {problem ? <p class="field-error">{problem}</p> : null}
          <h2>Then</h2>
          <p>
            Deliver to <span class="mono">{d.url}</span>, signed with Standard Webhooks.
          </p>
          <TransformEditor
            transform={editing.transform}
            readOnly={readOnly}
            onChange={(transform) => edit({ transform })}
          />
          {message ? (
            <Notice kind={message.kind}>
              {message.text}{' '}
              {message.stale ? (
                <button type="button" class="secondary" onClick={() => loaded.reload()}>
                  Reload
                </button>
              ) : null}
            </Notice>
          ) : null}
          {readOnly ? null : (
            <div class="actions">
              {canSave ? (
                <button type="submit" disabled={busy}>
                  Save rule
                </button>
              ) : null}
              <button type="button" class="secondary" onClick={() => edit(editingOf(d))}>
                Discard changes
              </button>
            </div>
          )}
        </form>
        {allows(role, 'operator') ? (
          <PreviewPanel
            name={d.name}
            rules={rules}
            draftProblem={problem}
            draft={{ filter, sources: editing.sources, ...(withTransform ? { transform: editing.transform } : {}) }}
          />
        ) : (
          <p class="muted">{role ? roleNeeded('The live preview needs', 'operator', role) : null}</p>
        )}
      </div>
    </>
  );
}

const Back = () => (
  <p>
    <a href="/ui/destinations">← Destinations</a>
  </p>
);
