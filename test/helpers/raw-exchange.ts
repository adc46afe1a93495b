import net from 'node:net';

/** What the server on 127.0.0.1:`port` answered to `bytes` on a fresh connection, once it closed it. */
export function rawExchange(port: number, bytes: string) {
  return new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(bytes);
  });
}

/**
 * A raw HTTP/1.1 request on its own connection, of which `head` (request line and headers) is
 * written at once: the rest (a body, or nothing) is the test's to write on `socket`. `answer` is
 * what the server sent so far.
 */
export function openRequest(port: number, head: string) {
  const socket = net.connect(port, '127.0.0.1');
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (answer += chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(head);
  return { socket, closed, answer: () => answer };
}

/** The request line and headers of a POST to `target`, ready for openRequest. */
export const requestHead = (target: string, headers: Record<string, string>) =>
  `POST ${target} HTTP/1.1\r\n${Object.entries({ host: 'x', ...headers })
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;
