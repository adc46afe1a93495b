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
