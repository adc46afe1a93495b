import { X12FatInterchange, X12Parser, type X12Interchange, type X12Segment } from 'node-x12';
import { mapPurchaseOrder } from './x12-850';
import type { PurchaseOrder } from './x12-850-model';
import { x12Date, x12Time, type Segment } from './x12-values';

// X12 interchanges → JSON. node-x12 does the tokenising (delimiters from the ISA header) and the
// envelope checks (IEA/GE/SE counts and control numbers, strict mode); this file walks its object
// model and hands 850 transaction sets to the purchase-order mapping.

export interface InterchangeInfo {
  sender_qualifier: string;
  sender_id: string;
  receiver_qualifier: string;
  receiver_id: string;
  date: string | null;
  time: string | null;
  control_number: string;
  version: string;
  /** P (production) or T (test). */
  usage_indicator: string;
}

/** A transaction set other than 850, kept segment by segment. */
export interface OtherTransaction {
  transaction_set: string;
  control_number: string;
  functional_group: { functional_id: string; control_number: string; version: string };
  segments: Segment[];
}

export interface ParsedX12 {
  interchanges: InterchangeInfo[];
  purchase_orders: PurchaseOrder[];
  other_transactions: OtherTransaction[];
}

/** The text looks like an X12 interchange (possibly after a byte-order mark or blank lines). */
export const looksLikeX12 = (text: string) => /^\uFEFF?\s*ISA/.test(text);

/** Parses every interchange in the text; throws with node-x12's message when it is not valid X12. */
export function parseX12(text: string): ParsedX12 {
  const parsed = new X12Parser(true).parse(text.replace(/^\uFEFF?\s*/, ''));
  const interchanges: X12Interchange[] = parsed instanceof X12FatInterchange ? [...parsed] : [parsed as X12Interchange];
  const result: ParsedX12 = { interchanges: [], purchase_orders: [], other_transactions: [] };
  for (const interchange of interchanges) {
    result.interchanges.push(interchangeInfo(interchange.header));
    for (const group of interchange.functionalGroups) {
      const functionalGroup = {
        functional_id: group.header.valueOf(1) ?? '',
        control_number: group.header.valueOf(6) ?? '',
        version: group.header.valueOf(8) ?? '',
      };
      for (const transaction of group.transactions) {
        const set = transaction.header.valueOf(1) ?? '';
        const controlNumber = transaction.header.valueOf(2) ?? '';
        const segments = transaction.segments.map(toSegment);
        if (set === '850') result.purchase_orders.push(mapPurchaseOrder(controlNumber, segments));
        else
          result.other_transactions.push({
            transaction_set: set,
            control_number: controlNumber,
            functional_group: functionalGroup,
            segments,
          });
      }
    }
  }
  return result;
}

const toSegment = (segment: X12Segment): Segment => ({
  tag: segment.tag,
  elements: segment.elements.map((e) => e.value),
});

function interchangeInfo(isa: X12Segment): InterchangeInfo {
  const value = (n: number) => (isa.valueOf(n) ?? '').trim();
  return {
    sender_qualifier: value(5),
    sender_id: value(6),
    receiver_qualifier: value(7),
    receiver_id: value(8),
    date: x12Date(value(9)),
    time: x12Time(value(10)),
    // node-x12 strips the leading zeros of ISA13 when it checks IEA02; put them back.
    control_number: value(13).padStart(9, '0'),
    version: value(12),
    usage_indicator: value(15),
  };
}
