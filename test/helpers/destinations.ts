import { http, HttpResponse, delay } from 'msw';
import { setupServer } from 'msw/node';

// Every fake third-party destination used by the tests, in one place. Each records what it got.

export interface Received {
  body: string;
  headers: Record<string, string>;
}

export const DESTINATION_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

export function createDestinations() {
  const received = new Map<string, Received[]>();
  const remember = async (name: string, request: Request) => {
    const list = received.get(name) ?? [];
    list.push({ body: await request.text(), headers: Object.fromEntries(request.headers) });
    received.set(name, list);
    return list.length;
  };
  const server = setupServer(
    http.post('https://erp.example.test/hooks', async ({ request }) => {
      await remember('erp', request);
      return HttpResponse.json({ ok: true });
    }),
    // 500 on the first call, 200 after.
    http.post('https://flaky.example.test/hooks', async ({ request }) => {
      const n = await remember('flaky', request);
      return n === 1 ? HttpResponse.text('database is down', { status: 500 }) : HttpResponse.json({ ok: true });
    }),
    // Always busy, asking for a 2-second pause.
    http.post('https://busy.example.test/hooks', async ({ request }) => {
      await remember('busy', request);
      return HttpResponse.text('slow down', { status: 503, headers: { 'retry-after': '2' } });
    }),
    // Never answers within any sane timeout.
    http.post('https://hang.example.test/hooks', async ({ request }) => {
      await remember('hang', request);
      await delay(30_000);
      return HttpResponse.json({ ok: true });
    }),
  );
  return { server, received: (name: string) => received.get(name) ?? [] };
}
