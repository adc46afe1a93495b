import { useState } from 'preact/hooks';
import { EVENT_STATUSES, type EventFilter } from '../../api/types';
import { Field, FieldSet, hasErrors, textOf, type FieldErrors } from '../../components/Form';
import { FILTER_NAMES, toLocalInput, validateFilter, type FilterName } from './filters';

export interface EventFiltersProps {
  filter: EventFilter;
  /** Filters in the address that are not valid: shown on their fields until the form is applied. */
  invalid?: FieldErrors<FilterName>;
  /** Sources seen in the last 24 hours, offered as suggestions. */
  sources: string[];
  onApply(filter: EventFilter): void;
  onClear(): void;
}

/** The filter form above the list; every value lives in the address. */
export function EventFilters({ filter, invalid = {}, sources, onApply, onClear }: EventFiltersProps) {
  const [checked, setErrors] = useState<FieldErrors<FilterName>>();
  const errors = checked ?? invalid;
  const submit = (form: HTMLFormElement) => {
    const values = Object.fromEntries(FILTER_NAMES.map((name) => [name, textOf(form, name)])) as Record<
      FilterName,
      string
    >;
    const checked = validateFilter(values);
    setErrors(checked.errors);
    if (!hasErrors(checked.errors)) onApply(checked.filter);
  };
  // Uncontrolled inputs (defaultValue) so a refresh of the page never overwrites what is being typed;
  // key: a new address (Clear, a link, Back) draws the form afresh with its values.
  return (
    <FieldSet key={JSON.stringify(filter)} class="filters" role="search" aria-label="Filter events" onSubmit={submit}>
      <Field name="source" label="Source" error={errors.source}>
        {(props) => <input {...props} list="known-sources" defaultValue={filter.source ?? ''} autocomplete="off" />}
      </Field>
      <datalist id="known-sources">
        {sources.map((s) => (
          <option key={s} value={s} />
        ))}
      </datalist>
      <Field name="status" label="Status" error={errors.status}>
        {(props) => (
          <select {...props}>
            <option value="">any</option>
            {EVENT_STATUSES.map((s) => (
              <option key={s} value={s} selected={filter.status === s}>
                {s}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field name="topic" label="Topic" error={errors.topic}>
        {(props) => <input {...props} defaultValue={filter.topic ?? ''} placeholder="orders/create" />}
      </Field>
      <Field name="q" label="Payload contains" error={errors.q}>
        {(props) => <input {...props} type="search" defaultValue={filter.q ?? ''} placeholder="text in the payload" />}
      </Field>
      <Field name="since" label="Received from" error={errors.since}>
        {(props) => <input {...props} type="datetime-local" defaultValue={toLocalInput(filter.since)} />}
      </Field>
      <Field name="until" label="Received before" error={errors.until}>
        {(props) => <input {...props} type="datetime-local" defaultValue={toLocalInput(filter.until)} />}
      </Field>
      <div class="filter-buttons">
        <button type="submit">Apply</button>
        <button type="button" class="secondary" onClick={onClear}>
          Clear
        </button>
      </div>
    </FieldSet>
  );
}
