import type net from 'node:net';
import { SECRETS, waitFor } from './gateway';
import { openRequest, requestHead } from './raw-exchange';

/** Status and JSON body of a raw answer. */
export const parsedAnswer = (answer: string) => ({
  status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1]),
  json: JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as {
    error?: { code: string; message: string };
    status?: string;
    id?: number;
  },
});

/**
 * For tests of what ingest refuses before a body is read: sends a POST's head declaring a body it
 * does not send (the test sends it later, or never), reads the answer, and reads how many body
 * bytes the gateway holds (webhook_gateway_ingest_body_bytes_held). `url` is the gateway's origin,
 * read when used (the gateway starts in beforeAll). `closeAll` ends every socket it opened.
 */
export function headFirstClient(url: () => string) {
  const sockets: net.Socket[] = [];
  const held = async () => {
    const metrics = await (
      await fetch(`${url()}/metrics`, { headers: { authorization: `Bearer ${SECRETS.ops}` } })
    ).text();
    return Number(/^webhook_gateway_ingest_body_bytes_held (\d+)/m.exec(metrics)![1]);
  };
  /** Sends the head of a POST declaring `declared` body bytes, and nothing of the body. */
  const sendHead = (target: string, headers: Record<string, string>, declared: number) => {
    const request = openRequest(
      Number(new URL(url()).port),
      requestHead(target, { 'content-type': 'application/json', 'content-length': String(declared), ...headers }),
    );
    sockets.push(request.socket);
    return request;
  };
  return {
    held,
    heldIs: (bytes: number) => waitFor(async () => (await held()) === bytes, 10_000, `${bytes} body bytes held`),
    sendHead,
    /** The answer to `request` once it has a JSON body, parsed. */
    answered: async (request: ReturnType<typeof sendHead>, what: string) => {
      await waitFor(() => request.answer().includes('\r\n\r\n{'), 10_000, what);
      return parsedAnswer(request.answer());
    },
    closeAll: () => sockets.splice(0).forEach((s) => s.destroy()),
  };
}
