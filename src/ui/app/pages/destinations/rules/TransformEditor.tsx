import type { Transform } from '../../../api/rules';

const EXAMPLES: Record<Transform['language'], string> = {
  jsonata: '{\n  "order": body.id,\n  "amount": body.total,\n  "topic": topic\n}',
  javascript:
    '// input: { topic, headers, body, event }; return the body to post.\nfunction transform(input) {\n  return { order: input.body.id, amount: input.body.total };\n}',
};

/**
 * The "transform" part of the rule: none, a JSONata expression or a JavaScript function (run in the
 * gateway's sandbox), edited as code. Controlled: onChange gets the new transform or null.
 */
export function TransformEditor({
  transform,
  onChange,
  readOnly,
}: {
  transform: Transform | null;
  onChange(transform: Transform | null): void;
  readOnly: boolean;
}) {
  return (
    <div class="rule-transform">
      <div class="field">
        <label for="transform-language">Transform</label>
        <select
          id="transform-language"
          value={transform?.language ?? ''}
          disabled={readOnly}
          onChange={(e) => {
            const language = e.currentTarget.value as Transform['language'] | '';
            onChange(language ? { language, code: transform?.code || EXAMPLES[language] } : null);
          }}
        >
          <option value="">none: the canonical envelope as is</option>
          <option value="jsonata">JSONata expression</option>
          <option value="javascript">JavaScript (sandboxed)</option>
        </select>
      </div>
      {transform ? (
        <div class="field">
          <label for="transform-code">{transform.language === 'jsonata' ? 'JSONata expression' : 'JavaScript'}</label>
          <textarea
            id="transform-code"
            class="mono code"
            rows={8}
            spellcheck={false}
            value={transform.code}
            readOnly={readOnly}
            onInput={(e) => onChange({ ...transform, code: e.currentTarget.value })}
            aria-describedby="transform-hint"
          />
          <small id="transform-hint" class="hint">
            Sees the event as topic, headers, body and event (id, source…); at most 1 s and 32 MB per delivery. An error
            fails that delivery as transformation_failed.
          </small>
        </div>
      ) : null}
    </div>
  );
}
