import { readFileSync } from 'node:fs';

// Bodies whose exact bytes a JSON.parse round trip would change, shared by the JSON exactness tests.

/** Shopify's orders/create test order as delivered (ids beyond 2^53, slashes escaped); see test/fixtures/json/README.md. */
export const SHOPIFY_ORDER = readFileSync(new URL('../fixtures/json/shopify-orders-create.json', import.meta.url));

/** Every kind of number a JSON.parse round trip changes, pretty-printed, with escapes and a key order JS objects reorder. */
export const EDGE_NUMBERS = Buffer.from(`{
  "id": 820982911946154508,
  "amount": 12345678901234567890.123456789,
  "refund": -9007199254740993,
  "nested": { "ids": [18446744073709551615, { "deep": -18446744073709551617 }] },
  "exponent": 1e400, "negative_zero": -0, "small": 1E-7,
  "long_decimal": 0.1000000000000000055511151231257827,
  "text": "caf\\u00e9 \\ud83d\\ude00 \\/ \\u2028 \\"quoted\\"",
  "10": "an integer-like key after others",
  "b": 1
}
`);

/** Arrays nested `depth` levels deep. */
export const nested = (depth: number) => Buffer.from('['.repeat(depth) + ']'.repeat(depth));

/** 200,000 levels of nesting in 400 KB (the attack from the security review). */
export const DEEP = nested(200_000);
