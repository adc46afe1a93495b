import type { Segment } from './x12-values';

// The JSON shape of an X12 850 purchase order, as the gateway stores it in a polled file's event
// (and destinations receive it in the envelope's data). Field names are snake_case like the
// envelope; X12 codes are kept as sent, dates are ISO (YYYY-MM-DD), numbers are numbers.

export interface Reference {
  qualifier: string | null;
  value: string | null;
  description: string | null;
}
export interface DateTime {
  qualifier: string | null;
  date: string | null;
  time: string | null;
}
export interface Contact {
  function_code: string | null;
  name: string | null;
  /** PER03/04, 05/06, 07/08: qualifier (TE phone, EM email, FX fax…) and number. */
  communications: { qualifier: string; value: string }[];
}
export interface Note {
  qualifier: string | null;
  reference: string | null;
  text: string[];
}
export interface AllowanceCharge {
  /** A allowance, C charge, N no allowance or charge. */
  indicator: string | null;
  code: string | null;
  /** SAC05 is N2: two implied decimals. */
  amount: number | null;
  percent: number | null;
  description: string | null;
}
export interface Party {
  entity_code: string | null;
  name: string | null;
  id_qualifier: string | null;
  id: string | null;
  additional_names: string[];
  address_lines: string[];
  city: string | null;
  state: string | null;
  postal_code: string | null;
  country: string | null;
  references: Reference[];
  contacts: Contact[];
}
export interface LineItem {
  line_number: string | null;
  quantity: number | null;
  unit_of_measure: string | null;
  unit_price: number | null;
  price_basis: string | null;
  /** PO106/07, 08/09 … pairs: UP (UPC), VN (vendor item), BP (buyer item), EN (EAN), SK (SKU)… */
  product_ids: { qualifier: string; id: string }[];
  /** PID05 texts, in order. */
  descriptions: string[];
  pack: { inner_pack: number | null; size: number | null; unit_of_measure: string | null } | null;
  references: Reference[];
  dates: DateTime[];
  allowances_charges: AllowanceCharge[];
  notes: Note[];
  parties: Party[];
  other_segments: Segment[];
}
export interface PurchaseOrder {
  transaction_set: '850';
  /** ST02 */
  control_number: string;
  /** ISA13 of the interchange that carried it. */
  interchange_control_number: string;
  /** GS06 of its functional group. */
  group_control_number: string;
  /** BEG01: 00 original, 01 cancellation, 05 replace, 06 confirmation, 07 duplicate. */
  purpose_code: string | null;
  /** BEG02: SA stand-alone, RL release, BK blanket, DS drop ship, NE new order… */
  order_type_code: string | null;
  purchase_order_number: string | null;
  release_number: string | null;
  order_date: string | null;
  contract_number: string | null;
  currency: string | null;
  references: Reference[];
  dates: DateTime[];
  contacts: Contact[];
  /** ITD: terms of sale. */
  terms: {
    type_code: string | null;
    basis_date_code: string | null;
    discount_percent: number | null;
    discount_due_date: string | null;
    discount_days_due: number | null;
    net_due_date: string | null;
    net_days: number | null;
    description: string | null;
  }[];
  /** TD5: routing and carrier. */
  carrier_details: {
    routing_sequence: string | null;
    id_qualifier: string | null;
    id: string | null;
    transport_method: string | null;
    routing: string | null;
  }[];
  allowances_charges: AllowanceCharge[];
  notes: Note[];
  parties: Party[];
  line_items: LineItem[];
  /** CTT01: the sender's count of line items (check it against line_items.length). */
  line_item_count: number | null;
  /** CTT02: hash total (sum of quantities, usually). */
  hash_total: number | null;
  /** AMT*TT (total transaction amount) when sent. */
  total_amount: number | null;
  other_segments: Segment[];
}
