/**
 * Secrets a source may hold at once. A request whose signature matches none is checked against
 * every one of them (an HMAC over the whole body each: ~17 ms for a 25 MB body here), so the
 * count bounds what one forged request costs. Rotation needs two or three at a time.
 */
export const MAX_SOURCE_SECRETS = 10;
