// The lean naive durable design: one `insert … on conflict do nothing` per request (postgres.js,
// pool of DB_POOL_SIZE), answered after its commit, into its own lean table (naive_events:
// identity primary key + unique (source, webhook_id), no triggers, no other index; created by
// bench/lib/database.ts). What a developer would write in an afternoon — the fair baseline.
import postgres from 'postgres';
import { serveShopify } from './common';

const sql = postgres(process.env.DATABASE_URL!, { max: Number(process.env.DB_POOL_SIZE ?? 10), onnotice: () => {} });

serveShopify(async (c, webhook) => {
  try {
    const rows = await sql<{ id: string }[]>`
      insert into naive_events (source, webhook_id, account, topic, body, headers)
      values ('shopify', ${`${webhook.shop}/${webhook.webhookId}`}, ${webhook.shop}, ${webhook.topic}, ${webhook.body},
              ${sql.json({ 'content-type': webhook.contentType })})
      on conflict (source, webhook_id) do nothing
      returning id`;
    return rows[0] ? c.json({ status: 'accepted', id: Number(rows[0].id) }) : c.json({ status: 'duplicate' });
  } catch {
    return c.json({ error: { code: 'database_unavailable', message: 'Storage is unavailable; retry later' } }, 503);
  }
});
