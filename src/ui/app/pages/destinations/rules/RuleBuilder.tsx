import { OPERATORS, SCOPES, type Condition, type Operator, type Rule, type Scope } from './rule-model';

const FIELD_HINT: Record<Scope, string> = {
  body: 'JSON path, e.g. customer.tier',
  headers: 'Header name',
  query: 'Query parameter',
  path: '',
  topic: '',
};

const blank = (): Condition => ({ scope: 'body', field: '', op: '=', value: '' });

/**
 * The "when" part as rows: a topic glob, then conditions (where, operator, value) joined by AND or
 * OR. Controlled: every edit calls onChange with the whole new rule.
 */
export function RuleBuilder({
  rule,
  onChange,
  readOnly,
}: {
  rule: Rule;
  onChange(rule: Rule): void;
  readOnly: boolean;
}) {
  const setRow = (i: number, change: Partial<Condition>) =>
    onChange({ ...rule, conditions: rule.conditions.map((c, j) => (i === j ? { ...c, ...change } : c)) });
  const removeRow = (i: number) => onChange({ ...rule, conditions: rule.conditions.filter((_, j) => j !== i) });

  return (
    <div class="rule-builder">
      <div class="field">
        <label for="rule-topic">Topic</label>
        <input
          id="rule-topic"
          value={rule.topic}
          placeholder="orders/* (any topic when empty)"
          disabled={readOnly}
          onInput={(e) => onChange({ ...rule, topic: e.currentTarget.value })}
          aria-describedby="rule-topic-hint"
        />
        <small id="rule-topic-hint" class="hint">
          A glob: * is any run of characters except /
        </small>
      </div>
      <fieldset class="rule-conditions">
        <legend>
          Conditions: match{' '}
          <select
            aria-label="Join conditions with"
            value={rule.join}
            disabled={readOnly}
            onChange={(e) => onChange({ ...rule, join: e.currentTarget.value as Rule['join'] })}
          >
            <option value="and">all (AND)</option>
            <option value="or">any (OR)</option>
          </select>
        </legend>
        {rule.conditions.length === 0 ? <p class="muted">No conditions: every event of the topic matches.</p> : null}
        <ol class="rule-rows">
          {rule.conditions.map((c, i) => (
            <li key={i} class="rule-row" data-condition={i + 1}>
              <span class="rule-join muted">{i === 0 ? 'where' : rule.join === 'and' ? 'and' : 'or'}</span>
              <select
                aria-label={`Condition ${i + 1}: where`}
                value={c.scope}
                disabled={readOnly}
                onChange={(e) => setRow(i, { scope: e.currentTarget.value as Scope })}
              >
                {SCOPES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
              {FIELD_HINT[c.scope] ? (
                <input
                  aria-label={`Condition ${i + 1}: ${FIELD_HINT[c.scope]}`}
                  placeholder={FIELD_HINT[c.scope]}
                  class="mono"
                  value={c.field}
                  disabled={readOnly}
                  onInput={(e) => setRow(i, { field: e.currentTarget.value })}
                />
              ) : (
                <span class="rule-field-none" />
              )}
              <select
                aria-label={`Condition ${i + 1}: operator`}
                value={c.op}
                disabled={readOnly}
                onChange={(e) => {
                  const op = e.currentTarget.value as Operator;
                  setRow(i, op === '$exists' ? { op, value: 'true' } : { op });
                }}
              >
                {OPERATORS.map(([op, label]) => (
                  <option key={op} value={op}>
                    {label}
                  </option>
                ))}
              </select>
              {c.op === '$exists' ? (
                <select
                  aria-label={`Condition ${i + 1}: value`}
                  value={c.value}
                  disabled={readOnly}
                  onChange={(e) => setRow(i, { value: e.currentTarget.value })}
                >
                  <option value="true">yes</option>
                  <option value="false">no</option>
                </select>
              ) : (
                <input
                  aria-label={`Condition ${i + 1}: value`}
                  class="mono"
                  value={c.value}
                  placeholder={
                    c.op === '$in' || c.op === '$nin' ? 'EUR, GBP' : c.scope === 'body' ? '100 or text' : 'text'
                  }
                  disabled={readOnly}
                  onInput={(e) => setRow(i, { value: e.currentTarget.value })}
                />
              )}
              {readOnly ? null : (
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Remove condition ${i + 1}`}
                  onClick={() => removeRow(i)}
                >
                  Remove
                </button>
              )}
            </li>
          ))}
        </ol>
        {readOnly ? null : (
          <button
            type="button"
            class="secondary"
            onClick={() => onChange({ ...rule, conditions: [...rule.conditions, blank()] })}
          >
            Add condition
          </button>
        )}
        <p class="muted rule-typing">
          In the body, <span class="mono">100</span> is a number and <span class="mono">"100"</span> text; headers,
          query and path are always text.
        </p>
      </fieldset>
    </div>
  );
}
