import type { ComponentChildren, FormHTMLAttributes } from 'preact';

/** Validation messages by field name; a field without a message is valid. */
export type FieldErrors<Name extends string = string> = Partial<Record<Name, string>>;

export const hasErrors = (errors: FieldErrors) => Object.values(errors).some(Boolean);

/** What a Field hands its control so the label, the hint and the error are tied to it. */
export interface ControlProps {
  id: string;
  name: string;
  'aria-invalid': boolean;
  'aria-describedby'?: string;
}

export interface FieldProps {
  /** The control's name; its id is `field-<name>`. */
  name: string;
  label: ComponentChildren;
  /** Shown under the control, tied to it with aria-describedby. */
  hint?: ComponentChildren;
  /** The field's validation message: shown next to it, and the control is marked invalid. */
  error?: string;
  children(props: ControlProps): ComponentChildren;
}

/** A labelled control with its own validation message (read with the control by screen readers). */
export function Field({ name, label, hint, error, children }: FieldProps) {
  const id = `field-${name}`;
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ');
  return (
    <div class={`field${error ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children({ id, name, 'aria-invalid': Boolean(error), 'aria-describedby': described || undefined })}
      {hint ? (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      ) : null}
      {error ? (
        <small id={`${id}-error`} class="field-error">
          {error}
        </small>
      ) : null}
    </div>
  );
}

export interface FieldSetProps extends Omit<FormHTMLAttributes<HTMLFormElement>, 'onSubmit'> {
  /** Called with the form on submit (the browser's own submission is prevented). */
  onSubmit(form: HTMLFormElement): void;
  /** An error about the whole form (the server refused it), above the fields. */
  error?: ComponentChildren;
  children: ComponentChildren;
}

/**
 * A form of Fields. The browser's built-in validation bubbles are off (noValidate): each field shows
 * its own message, and after a refused submit the first invalid control gets the focus.
 */
export function FieldSet({ onSubmit, error, children, ...props }: FieldSetProps) {
  return (
    <form
      {...props}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit(e.currentTarget);
        // After the caller's state update has been drawn.
        const form = e.currentTarget;
        requestAnimationFrame(() => form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      }}
    >
      {error ? (
        <p class="message error" role="alert">
          {error}
        </p>
      ) : null}
      {children}
    </form>
  );
}

/** The trimmed text of a form's control. */
export const textOf = (form: HTMLFormElement, name: string) =>
  String((form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null)?.value ?? '').trim();
