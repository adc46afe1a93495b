import { describe, expect, it } from 'vitest';
import { describeDestinationPlan } from '../src/control/destination-plan';

// A plan is printed by `apply -f` (dry run or not) and typically ends up in CI logs and pull
// requests: the URL of a destination to be created must not carry its query values or user info.
describe('describeDestinationPlan', () => {
  it('shows the URL of a destination to create with its credentials redacted, for every role', () => {
    const lines = describeDestinationPlan([
      {
        action: 'create',
        name: 'erp',
        body: { url: 'https://svc:pw-0451@erp.example/hooks?token=qtok-91ac&region=eu#frag' },
      },
    ]);
    const out = lines.join('\n');
    expect(out).toContain(
      '+ create destination erp (https://[redacted]@erp.example/hooks?token=[redacted]&region=[redacted]#[redacted])',
    );
    expect(out).not.toContain('qtok-91ac');
    expect(out).not.toContain('pw-0451');
  });

  it('keeps a URL without credentials as it is', () => {
    expect(
      describeDestinationPlan([{ action: 'create', name: 'erp', body: { url: 'https://erp.example/hooks' } }])[0],
    ).toBe('  + create destination erp (https://erp.example/hooks)');
  });
});
