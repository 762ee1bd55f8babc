/**
 * Free TCP ports on the loopback interface for test servers.
 *
 *   const port = await freePort();   // bind 127.0.0.1:port yourself right away
 *
 * The port is free when returned but not reserved: another process may take it before the
 * caller binds. Helpers that start servers (local-prometheus.ts) retry with a new port when the
 * bind fails.
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the bound port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
