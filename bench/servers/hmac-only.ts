// The ceiling for any durable variant in one process: read the body, verify the HMAC, answer.
// Nothing is stored, so nothing here survives a crash.
import { serveShopify } from './common';

serveShopify((c) => c.json({ status: 'accepted' }));
