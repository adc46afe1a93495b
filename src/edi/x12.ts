import { mapPurchaseOrder } from './x12-850';
import type { PurchaseOrder } from './x12-850-model';
import { referenceYear } from './x12-dates';
import { checkEnvelope, type CheckedInterchange } from './x12-envelope';
import { tokenizeX12, X12SyntaxError } from './x12-tokenizer';
import { element, x12Date, x12Time, type Segment } from './x12-values';

// X12 interchanges → JSON. The tokenizer splits the file (each interchange with its own
// delimiters), the envelope check proves every interchange, group and transaction set is complete,
// and 850 transaction sets go to the purchase-order mapping. Either every transaction set of the
// file is in the result, or parseX12 throws naming the segment that failed: never a partial file.

export { X12SyntaxError };

export interface FunctionalGroupInfo {
  /** GS01: PO for purchase orders. */
  functional_id: string;
  sender_id: string;
  receiver_id: string;
  date: string | null;
  time: string | null;
  control_number: string;
  /** GS08: 004010, 005010… */
  version: string;
  /** How many transaction sets the group holds (= GE01, checked). */
  transaction_sets: number;
}

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
  functional_groups: FunctionalGroupInfo[];
  /** Interchange-level segments (TA1), as sent. */
  other_segments: Segment[];
}

/** A transaction set other than 850, kept segment by segment. */
export interface OtherTransaction {
  transaction_set: string;
  control_number: string;
  interchange_control_number: string;
  functional_group: { functional_id: string; control_number: string; version: string };
  segments: Segment[];
}

export interface ParsedX12 {
  interchanges: InterchangeInfo[];
  purchase_orders: PurchaseOrder[];
  other_transactions: OtherTransaction[];
}

/** The text looks like an X12 interchange (possibly after a byte-order mark or blank lines). */
export function looksLikeX12(text: string): boolean {
  let at = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (at < text.length && /\s/.test(text[at]!)) at++;
  return text.startsWith('ISA', at);
}

/** Parses every interchange in the text; throws X12SyntaxError naming the segment when it cannot. */
export function parseX12(text: string, options: { now?: Date } = {}): ParsedX12 {
  const now = options.now ?? new Date();
  const result: ParsedX12 = { interchanges: [], purchase_orders: [], other_transactions: [] };
  tokenizeX12(text).forEach((tokenized, index) => {
    const interchange = checkEnvelope(tokenized, index + 1);
    const year = referenceYear(interchange, now);
    const isa13 = element(interchange.isa, 13)!;
    result.interchanges.push(interchangeInfo(interchange, year));
    for (const group of interchange.groups) {
      const functionalGroup = {
        functional_id: element(group.header, 1) ?? '',
        control_number: element(group.header, 6) ?? '',
        version: element(group.header, 8) ?? '',
      };
      for (const set of group.sets) {
        if (set.id === '850') {
          result.purchase_orders.push(
            mapPurchaseOrder(set.segments, {
              controlNumber: set.controlNumber,
              interchangeControlNumber: isa13,
              groupControlNumber: functionalGroup.control_number,
              referenceYear: year,
            }),
          );
        } else {
          result.other_transactions.push({
            transaction_set: set.id,
            control_number: set.controlNumber,
            interchange_control_number: isa13,
            functional_group: functionalGroup,
            segments: set.segments,
          });
        }
      }
    }
  });
  return result;
}

function interchangeInfo(interchange: CheckedInterchange, year: number): InterchangeInfo {
  const value = (n: number) => (interchange.isa.elements[n - 1] ?? '').trim();
  return {
    sender_qualifier: value(5),
    sender_id: value(6),
    receiver_qualifier: value(7),
    receiver_id: value(8),
    date: x12Date(value(9), year),
    time: x12Time(value(10)),
    control_number: value(13),
    version: value(12),
    usage_indicator: value(15),
    functional_groups: interchange.groups.map((group) => ({
      functional_id: element(group.header, 1) ?? '',
      sender_id: element(group.header, 2) ?? '',
      receiver_id: element(group.header, 3) ?? '',
      date: x12Date(element(group.header, 4), year),
      time: x12Time(element(group.header, 5)),
      control_number: element(group.header, 6) ?? '',
      version: element(group.header, 8) ?? '',
      transaction_sets: group.sets.length,
    })),
    other_segments: interchange.otherSegments,
  };
}
