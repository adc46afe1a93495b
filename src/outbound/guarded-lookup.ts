import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { OutboundRefusedError, type OutboundPolicy } from './policy';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * dns.lookup that keeps only the addresses the policy allows, for net.connect's `lookup` option
 * (undici's connector, SMTP and SFTP sockets). A name with none left fails with the refusal of its
 * first address; a name with some left connects only to those (a dual-stack `localhost` with
 * 127.0.0.1 allowed and ::1 not is reached over 127.0.0.1). net.connect never calls it for an IP
 * literal: whoever connects checks those first.
 */
export function guardedLookup(policy: OutboundPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const usable = addresses.filter((a) => policy.refusal(a.address) === undefined);
      if (usable.length === 0) {
        const first = addresses[0];
        const refusal = first && policy.refusal(first.address);
        if (!refusal) return callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), []);
        return callback(new OutboundRefusedError(refusal, hostname), []);
      }
      if (options.all) return callback(null, usable);
      callback(null, usable[0]!.address, usable[0]!.family);
    });
  };
}
